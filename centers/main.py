# PYTHON_ARGCOMPLETE_OK
"""`centers`: the staff command line (INTERFACE.md, "Command line").

    centers start FILE.json                        start a center's lifecycle
    centers import FILE.json                       bring in a center designated before the service
    centers <action> CENTER_ID --file P.json       one subcommand per staff action (rules.engine.ACTIONS)
    centers show CENTER_ID [--json]                the live state (query `state`)
    centers list [--phase P --county C --field F --due-before DATE]
    centers deadlines                              every open deadline across centers
    centers report coverage|status|ledger --format csv|xlsx --out FILE
    centers docs [--check]                         regenerate docs/actions.md
    centers calendar [--notice-from DATE] [--check]  how far the working-day calendar reaches (PD2)
    centers calendar --from-notice NOTICE.txt --year Y  a new year's holidays, read from the notice
    centers db status                              migrations applied and pending
    centers completion bash|zsh|fish               shell completion script (argcomplete)
    centers --json COMMAND ...                     one JSON document on stdout, notes on stderr
    centers --version

Settings come from the environment (workers.settings): TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE,
TASK_QUEUE, DATABASE_URL (else the dev stack's embedded server under VAR_DIR/pg, never a new one),
the Temporal client profile (workers.temporal_client). CENTERS_ACTOR_NAME / _ROLE / _COUNTY give the
--actor-* defaults (the operator's own identity; the portal's token replaces them once it exists).

Exit status: 0 done; 1 refused or failed; 2 bad input at the door (nothing sent or written).
The process ends through workers.exit.hard_exit (temporalio/sdk-python#300).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import traceback
from datetime import datetime, timezone
from typing import TextIO

from temporalio.client import Client

from centers import calendar_info, commands, db_status, docgen, reports
from centers.importing import import_center
from centers.commands import ActionArgs
from centers.context import Context
from centers.errors import BAD_INPUT, FAILED, OK, CliError
from models.directory import County, Field, Role
from models.phase import Phase
from rules.catalog import ACTIONS
from workers.settings import Settings, get_settings


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error raises instead of exiting (so tests can run in-process)."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{self.prog}: error: {message}\n{self.format_usage().rstrip()}")


class _UsageError(Exception):
    pass


def _action_help(name: str) -> tuple[str, str]:
    spec = ACTIONS[name]
    roles = ", ".join(sorted(r.value for r in spec.roles))
    phases = ", ".join(sorted(p.value for p in spec.phases)) if spec.phases is not None else "any"
    epilog = (f"rules: {', '.join(spec.rule_ids) or '-'}; sent by: {roles}; accepted in phase: {phases}. "
              f"Payload schema and example: docs/actions.md#{name} and examples/actions/{name}.json.")
    return spec.description, epilog


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("zhoushan-innovation-centers")
    except PackageNotFoundError:  # run from a source tree without an install
        return "unknown"


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="centers", description="Zhoushan industrial innovation centers: staff command line.",
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog="Exit status: 0 done, 1 refused or failed, 2 bad input (nothing sent or written).")
    parser.add_argument("--version", action="version", version=f"centers {_version()}")
    parser.add_argument("--json", dest="json_output", action="store_true",
                        help="(before the command) print one JSON document on stdout, every note on stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    sub.required = True

    p = sub.add_parser("start", help="validate a center profile and start its lifecycle")
    p.add_argument("file", metavar="FILE.json", help="the center profile (see examples/center.json)")

    p = sub.add_parser("import", help="bring in a center designated before the service existed",
                       description="Start the lifecycle of an existing center in its current phase (designated or "
                                   "rectifying) with its past designation, grades, reports and advances: one audited "
                                   "step citing its source document. See examples/import.json.")
    p.add_argument("file", metavar="FILE.json", help="the import file (see examples/import.json)")
    p.add_argument("--request-id", help="idempotency key (a fresh one if omitted)")
    p.add_argument("--actor-name", help="who imports (city bureau)")
    p.add_argument("--actor-role", default="city_bureau", help="city_bureau")
    p.add_argument("--actor-county", help=argparse.SUPPRESS)

    for name in ACTIONS:
        description, epilog = _action_help(name)
        p = sub.add_parser(name, help=description, description=description, epilog=epilog)
        p.set_defaults(action=name)
        p.add_argument("center_id", metavar="CENTER_ID")
        source = p.add_mutually_exclusive_group(required=True)
        source.add_argument("--file", "-f", metavar="PAYLOAD.json", help="the payload ('-' for stdin)")
        source.add_argument("--json", dest="json_text", metavar="JSON", help="the payload inline")
        p.add_argument("--actor-name", default=os.environ.get("CENTERS_ACTOR_NAME"),
                       help="the actor's name, if the payload has no actor (default: $CENTERS_ACTOR_NAME)")
        p.add_argument("--actor-role", choices=[r.value for r in Role], default=os.environ.get("CENTERS_ACTOR_ROLE"),
                       help="the actor's role (default: $CENTERS_ACTOR_ROLE)")
        p.add_argument("--actor-county", choices=[c.value for c in County],
                       default=os.environ.get("CENTERS_ACTOR_COUNTY"),
                       help="county, for county departments (default: $CENTERS_ACTOR_COUNTY)")
        p.add_argument("--request-id", help="idempotency key (default: the payload's, else a fresh uuid)")
        p.add_argument("--signal", action="store_true", help="send as a signal instead of an update")
        p.add_argument("--timeout", type=float, default=120.0, help="seconds to wait for the answer (120)")
        p.add_argument("--raw", action="store_true", help="print the update's whole JSON answer")

    p = sub.add_parser("show", help="the live state of a center (query `state`)")
    p.add_argument("center_id", metavar="CENTER_ID")
    p.add_argument("--json", action="store_true", help="raw JSON")

    p = sub.add_parser("list", help="centers by phase, county, field or next deadline (visibility query)")
    p.add_argument("--phase", choices=[x.value for x in Phase])
    p.add_argument("--county", choices=[x.value for x in County])
    p.add_argument("--field", choices=[x.value for x in Field])
    p.add_argument("--due-before", metavar="YYYY-MM-DD",
                   help="next deadline falls due before this day begins (Asia/Shanghai)")
    p.add_argument("--running", action="store_true", help="running lifecycles only")
    p.add_argument("--limit", type=int, help="at most this many rows")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")

    p = sub.add_parser("deadlines", help="every open deadline across centers, soonest first")
    p.add_argument("--county", choices=[x.value for x in County])
    p.add_argument("--overdue", action="store_true", help="overdue ones only")
    p.add_argument("--within", type=int, metavar="DAYS", help="due within this many days")
    p.add_argument("--json", action="store_true", help="JSON instead of a table")

    p = sub.add_parser("report", help="reports for the bureau from PostgreSQL (CSV or Excel)")
    p.add_argument("report", choices=list(reports.REPORTS), help="coverage (D2), status board, subsidy ledger")
    p.add_argument("--format", choices=["csv", "xlsx"], help="default: from --out's suffix, else csv")
    p.add_argument("--out", metavar="FILE", help="output file (csv: default stdout)")

    p = sub.add_parser("docs", help="regenerate docs/actions.md from the registry, models and examples")
    p.add_argument("--check", action="store_true", help="exit 1 if docs/actions.md is stale")

    p = sub.add_parser("calendar", help="how far the working-day calendar's data reaches (PD2); notice ends (D7)")
    p.add_argument("--notice-from", metavar="YYYY-MM-DD", help="show when a notice published that day ends")
    p.add_argument("--working-days", type=int, default=5, help="the notice's length in working days (D7: 5)")
    p.add_argument("--check", action="store_true",
                   help="exit 1 when the data ends within 60 days or is invalid (for a cron job)")
    p.add_argument("--json", action="store_true", help="JSON instead of text")
    p.add_argument("--from-notice", metavar="NOTICE.txt",
                   help="read the State Council's holiday notice (its text) into a [YEAR] table to check and add")
    p.add_argument("--year", type=int, help="the year the notice is for (with --from-notice)")
    p.add_argument("--source", help="the notice's title and number, for the table's source (with --from-notice)")

    p = sub.add_parser("db", help="the database: which migrations are applied")
    p.add_argument("db_command", choices=["status"], help="status: applied and pending migrations (exit 1 if pending)")

    p = sub.add_parser("completion", help="print the shell completion script (argcomplete)")
    p.add_argument("shell", choices=["bash", "zsh", "fish"], nargs="?", default="bash",
                   help='e.g. `eval "$(centers completion bash)"` in ~/.bashrc')
    return parser


async def _dispatch(ctx: Context, args: argparse.Namespace) -> int:
    if getattr(args, "action", None):
        if ctx.json_mode:
            args.raw = False  # the JSON document already carries the whole answer
        return await commands.action(ctx, args.action, ActionArgs(
            center_id=args.center_id, file=args.file, json_text=args.json_text, request_id=args.request_id,
            actor_name=args.actor_name, actor_role=args.actor_role, actor_county=args.actor_county,
            signal=args.signal, timeout=args.timeout, raw=args.raw,
        ))
    if args.command == "start":
        return await commands.start(ctx, args.file)
    if args.command == "import":
        return await import_center(ctx, args.file, request_id=args.request_id, actor_name=args.actor_name,
                                   actor_role=args.actor_role, actor_county=args.actor_county)
    as_json = bool(getattr(args, "json", False)) or ctx.json_mode
    if args.command == "show":
        return await commands.show(ctx, args.center_id, as_json=as_json)
    if args.command == "list":
        return await commands.list_centers(ctx, phase=args.phase, county=args.county, field=args.field,
                                           due_before=args.due_before, running=args.running, limit=args.limit,
                                           as_json=as_json)
    if args.command == "deadlines":
        return await commands.deadlines(ctx, county=args.county, overdue_only=args.overdue,
                                        within_days=args.within, as_json=as_json)
    if args.command == "report":
        return await report(ctx, args.report, args.format, args.out)
    if args.command == "db":
        return await db_status.status(ctx)
    if args.command == "completion":
        import argcomplete

        script = argcomplete.shellcode(["centers"], shell=args.shell)
        if ctx.json_mode:
            ctx.emit({"shell": args.shell, "script": script})
        else:
            ctx.out.write(script)
        return OK
    if args.command == "calendar" and args.from_notice:
        return calendar_info.from_notice(ctx, args.from_notice, args.year, args.source)
    if args.command == "calendar":
        return calendar_info.show(ctx, notice_from=args.notice_from, working_days=args.working_days,
                                  check=args.check, as_json=as_json)
    if args.command == "docs":
        if args.check:
            current = docgen.is_current()
            if ctx.json_mode:
                ctx.emit({"doc": str(docgen.DOC), "current": current})
            if current:
                ctx.print(f"{docgen.DOC} is current")
                return OK
            ctx.warn(f"{docgen.DOC} is stale: run `centers docs`")
            return FAILED
        written = docgen.write()
        if ctx.json_mode:
            ctx.emit({"doc": str(docgen.DOC), "written": written})
        ctx.print(f"{docgen.DOC} {'written' if written else 'unchanged'}")
        return OK
    raise AssertionError(args.command)


async def report(ctx: Context, name: str, fmt: str | None, out: str | None) -> int:
    fmt = reports.output_format(fmt, out)
    if fmt == "xlsx" and not out:
        ctx.warn("--out FILE.xlsx is required for --format xlsx")
        return BAD_INPUT
    conn = await ctx.db()
    try:
        result = await reports.REPORTS[name](conn)
    finally:
        await conn.close()
    if ctx.json_mode and not out:  # the rows themselves are the JSON answer
        ctx.emit({"report": result.name, "title": result.title, "columns": [k for k, _ in result.columns],
                  "rows": result.rows, "notes": result.notes})
        return OK
    where = reports.write_report(result, fmt, out, ctx.out, datetime.now(timezone.utc))
    if where != "stdout":
        ctx.print(f"{result.title}: {len(result.rows)} row(s) written to {where}")
        if ctx.json_mode:
            ctx.emit({"report": result.name, "rows": len(result.rows), "format": fmt, "written_to": where})
    return OK


async def run(
    argv: list[str] | None = None,
    *,
    client: Client | None = None,
    settings: Settings | None = None,
    database_url: str | None = None,
    out: TextIO | None = None,
    err: TextIO | None = None,
    now: datetime | None = None,
) -> int:
    """Run one command and return its exit status; everything injectable for in-process tests."""
    out, err = out or sys.stdout, err or sys.stderr
    parser = build_parser()
    if argv is None:  # the console script: answer shell completion requests (argcomplete), then parse
        import argcomplete

        argcomplete.autocomplete(parser)
    try:
        args = parser.parse_args(argv)
    except _UsageError as usage:
        err.write(f"{usage}\n")
        return BAD_INPUT
    except SystemExit as exit_:  # --help
        return int(exit_.code or 0)
    ctx = Context(settings=settings or get_settings(), out=out, err=err, client=client,
                  database_url=database_url, now=now, json_mode=args.json_output)
    try:
        return await _dispatch(ctx, args)
    except CliError as error:
        err.write(f"{error.message}\n")
        if ctx.json_mode:  # a script reading stdout gets a document either way
            ctx.emit({"error": error.message, "status": error.status})
        return error.status
    except Exception as error:  # an unforeseen failure: one line for staff, the trace on request
        if os.environ.get("CENTERS_DEBUG"):
            traceback.print_exc(file=err)
        err.write(f"error: {type(error).__name__}: {error} (set CENTERS_DEBUG=1 for the trace)\n")
        if ctx.json_mode:
            ctx.emit({"error": f"{type(error).__name__}: {error}", "status": FAILED})
        return FAILED
    finally:
        ctx.close()


def main(argv: list[str] | None = None) -> None:
    """Console script `centers`: run, flush, drop the client, then hard_exit (sdk-python#300)."""
    from workers.exit import hard_exit

    try:
        status = asyncio.run(run(argv))
    except KeyboardInterrupt:
        status = 130
    hard_exit(status)


if __name__ == "__main__":
    main()
