"""The commands behind `centers`: start, one per staff action, show, list, deadlines."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
import asyncpg
from temporalio.client import (
    WorkflowExecutionStatus, WorkflowQueryFailedError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from centers.context import Context
from centers.errors import OK, BadInput, Failed
from centers.payloads import fill_envelope, read_json, validate
from centers.render import county_text, deadline_status, due_text, local_text, state_text, table
from db.outcomes import record_batch
from models import search_attributes as sa
from models.directory import load_offices, offices_file
from models.effects import AuditEntry, OutcomeBatch
from models.policy import policy_in_force
from models.profile import CenterProfile
from db.mailer import undelivered_mail
from models.mail import UndeliveredMail
from models.state import ActionResult, CenterState, LifecycleInput
from rules.calendar import end_of_day, local_date
from rules.catalog import ACTIONS
from rules.messages import period_note
from workflows.lifecycle import CenterLifecycle
from workflows.visibility import initial_search_attributes, static_summary

QUERY_TIMEOUT = timedelta(seconds=30)


def workflow_id(center_id: str) -> str:
    return f"center-{center_id}"


async def _not_running(ctx: Context, center_id: str, doing: str) -> Failed:
    """NOT_FOUND for an action: no workflow at all, or its lifecycle has ended."""
    try:
        description = await (await ctx.temporal()).get_workflow_handle(workflow_id(center_id)).describe()
    except RPCError:
        return _no_lifecycle(center_id)
    status = description.status.name.lower() if description.status else "closed"
    return Failed(f"{doing} center {center_id}: its lifecycle has ended (workflow {status}); `centers show "
                  f"{center_id}` shows how, and `centers start FILE.json` starts a new one")


def _no_lifecycle(center_id: str) -> Failed:
    return Failed(f"center {center_id} has no lifecycle (no workflow {workflow_id(center_id)}): start it with "
                  "`centers start FILE.json`")


def _rpc_failure(err: RPCError, center_id: str, doing: str) -> Failed:
    if err.status == RPCStatusCode.NOT_FOUND:
        return _no_lifecycle(center_id)
    if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return Failed(f"{doing} center {center_id}: no answer in time -- is the worker running (make run)?")
    return Failed(f"{doing} center {center_id}: {err.message}")


# -- start -----------------------------------------------------------------------------------------


async def start(ctx: Context, file: str) -> int:
    """Validate the profile at the door, then start CenterLifecycle center-<id> with the 2025 policy (PD8)."""
    profile = validate(CenterProfile, read_json(file, what="profile"), "profile")
    assert isinstance(profile, CenterProfile)
    try:
        offices = load_offices(profile.county)
    except (OSError, KeyError, ValueError) as err:
        raise Failed(f"the staff mailbox directory {offices_file()} has no usable entry for county "
                     f"{profile.county.value}: {err!r}") from None
    policy = policy_in_force(local_date(ctx.clock()))  # PD8: the guideline in effect today
    # The provisional state gives the search attributes and summary the list view shows from the start.
    provisional = CenterState(profile=profile, policy=policy, offices=offices, opened_at=ctx.clock())
    wid = workflow_id(profile.center_id)
    client = await ctx.temporal()
    try:
        handle = await client.start_workflow(
            CenterLifecycle.run,
            LifecycleInput(profile=profile, policy=policy, offices=offices),
            id=wid,
            task_queue=ctx.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,  # one running lifecycle per center
            id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,  # a new one after an ended one
            search_attributes=initial_search_attributes(provisional),
            static_summary=static_summary(provisional),
        )
    except WorkflowAlreadyStartedError:
        raise Failed(f"center {profile.center_id} already has a running lifecycle ({wid}): "
                     f"{ctx.ui_link(wid)}") from None
    except RPCError as err:
        raise Failed(f"could not start {wid}: {err.message}") from None
    ctx.print(f"started {wid} (run {handle.result_run_id}), policy {policy.version}")
    ctx.print(f"web UI  {ctx.ui_link(wid)}")
    if ctx.json_mode:
        ctx.emit({"outcome": "started", "workflow_id": wid, "run_id": handle.result_run_id,
                  "policy": policy.version, "ui": ctx.ui_link(wid)})
    return OK


# -- actions ---------------------------------------------------------------------------------------


@dataclass
class ActionArgs:
    center_id: str
    file: str | None = None
    json_text: str | None = None
    request_id: str | None = None
    actor_name: str | None = None
    actor_role: str | None = None
    actor_county: str | None = None
    signal: bool = False
    timeout: float = 120.0
    raw: bool = False


async def action(ctx: Context, name: str, args: ActionArgs) -> int:
    """Send one staff action as an update (default) or a signal; a refusal names the rule and field."""
    spec = ACTIONS[name]
    raw = read_json(args.file, args.json_text, what=f"{name} payload")
    data, rid = fill_envelope(raw, request_id=args.request_id, actor_name=args.actor_name,
                              actor_role=args.actor_role, actor_county=args.actor_county)
    # At the door only the payload's shape is checked; the rules are the workflow's to apply.
    try:
        act = validate(spec.payload, data, f"{name} payload")
    except BadInput as err:
        if "actor" not in data:
            raise BadInput(f"{err.message}\n  (give the actor in the payload, or --actor-name and --actor-role)") from None
        raise
    ctx.print(f"request_id {rid}  (reuse it with --request-id to retry safely)")
    client = await ctx.temporal()
    wid = workflow_id(args.center_id)
    handle = client.get_workflow_handle(wid)

    if args.signal:
        try:
            await handle.signal(name, data)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise await _not_running(ctx, args.center_id, f"cannot signal {name} to") from None
            raise _rpc_failure(err, args.center_id, f"cannot signal {name} to") from None
        ctx.print(f"signal {name} sent to {wid}; a refusal is kept in its state and the audit log "
                  f"(centers show {args.center_id})")
        if ctx.json_mode:
            ctx.emit({"outcome": "signalled", "action": name, "workflow_id": wid, "request_id": rid})
        return OK

    try:
        answer = await asyncio.wait_for(handle.execute_update(name, data), args.timeout)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "ActionRefused":
            detail = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
            rule, field, message = (detail.get("rule_id", "?"), detail.get("field", "?"),
                                    detail.get("message", cause.message))
            ctx.print(f"refused [{rule}] {field}: {message}")
            await _audit_refusal(ctx, handle, args.center_id, name, act, rule, field, message)
            if ctx.json_mode:
                ctx.emit({"outcome": "refused", "action": name, "workflow_id": wid, "request_id": rid,
                          "rule_id": rule, "field": field, "message": message})
            return 1
        raise Failed(f"{name} on {wid} failed: {cause or err}") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise await _not_running(ctx, args.center_id, f"cannot send {name} to") from None
        raise _rpc_failure(err, args.center_id, f"cannot send {name} to") from None
    except (asyncio.TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        # wait_for cancels the update call, which the SDK turns into its own error, not TimeoutError.
        raise Failed(f"{name} on {wid}: no answer within {args.timeout:g} s -- is the worker running? "
                     f"It may still be applied; retry with --request-id {rid} (a repeat changes nothing)") from None

    result = ActionResult.model_validate(answer)
    if ctx.json_mode:
        ctx.emit({"outcome": "duplicate" if result.duplicate else "accepted", "action": name, "workflow_id": wid,
                  "request_id": rid, "result": answer})
    elif args.raw:
        ctx.emit(answer)
    elif result.duplicate:
        ctx.print(f"already answered: request {rid} was {name} at {local_text(result.at)}; nothing changed")
        ctx.print(f"  {result.summary}; phase {result.phase.value}")
    else:
        ctx.print(f"accepted {name} on {wid}: {result.summary}")
        ctx.print(f"phase {result.phase.value}")
    return OK


async def _audit_refusal(ctx: Context, handle: Any, center_id: str, name: str, act: Any,
                         rule: str, field: str, message: str) -> None:
    """An update refused by the validator never reaches history, so the CLI audits it.

    A refusal found after acceptance (e.g. a ban in the registry) is audited by the workflow
    itself before it answers; then nothing is added here.
    """
    try:
        conn = await ctx.db()
    except Failed as err:
        ctx.warn(f"warning: the refusal was not recorded in the audit log: {err.message}")
        return
    try:
        already = await conn.fetchval(
            "SELECT 1 FROM audit_log WHERE center_id = $1 AND request_id = $2 AND action = $3 "
            "AND outcome = 'rejected' LIMIT 1", center_id, act.request_id, name)
        if already:
            return
        phase = None
        try:
            state = await handle.query("state", rpc_timeout=timedelta(seconds=5))
            phase = state.get("phase") if isinstance(state, dict) else None
        except Exception:  # the audit row matters more than its phase column
            pass
        who = act.actor.model_dump(mode="json")
        entry = AuditEntry(
            key=f"{center_id}:refused:{act.request_id}", center_id=center_id, at=datetime.now(timezone.utc),
            action=name, outcome="rejected", actor_name=who.get("name"), actor_role=who.get("role"),
            actor_county=who.get("county"), request_id=act.request_id, rule_ids=[rule],
            phase_before=phase, phase_after=phase, summary=f"refused: [{rule}] {field}: {message}",
            detail={"rule_id": rule, "field": field, "message": message, "via": "update",
                    "recorded_by": "centers CLI (refused by the update validator)"},
        )
        await record_batch(conn, OutcomeBatch(center_id=center_id, audits=[entry]))
    except Exception as err:
        ctx.warn(f"warning: the refusal was not recorded in the audit log: {err}")
    finally:
        await conn.close()


# -- show ------------------------------------------------------------------------------------------


async def query_state(ctx: Context, center_id: str) -> dict[str, Any]:
    client = await ctx.temporal()
    handle = client.get_workflow_handle(workflow_id(center_id))
    try:
        return await handle.query("state", rpc_timeout=QUERY_TIMEOUT)
    except RPCError as err:
        raise _rpc_failure(err, center_id, "cannot read") from None
    except WorkflowQueryFailedError as err:
        raise Failed(f"cannot read center {center_id}: {err}") from None


async def show(ctx: Context, center_id: str, as_json: bool = False) -> int:
    raw = await query_state(ctx, center_id)
    if as_json:
        ctx.emit(raw)
    else:
        state = CenterState.model_validate(raw)
        ctx.print(state_text(state, ctx.clock(), ctx.ui_link(workflow_id(center_id)),
                             await _undelivered(ctx, center_id)))
    return OK


async def _undelivered(ctx: Context, center_id: str) -> list[UndeliveredMail]:
    """The center's mail the outbox has not delivered; the state shows without it if the database is away."""
    try:
        conn = await ctx.db()
    except Failed as err:
        ctx.warn(f"mail delivery status not shown: {err}")
        return []
    try:
        return await undelivered_mail(conn, center_id)
    except asyncpg.PostgresError as err:  # e.g. a database the worker has not migrated yet
        ctx.warn(f"mail delivery status not shown: {err}")
        return []
    finally:
        await conn.close()


# -- list ------------------------------------------------------------------------------------------


def _quote(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _utc(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise BadInput(f"--due-before: {text!r} is not a date (YYYY-MM-DD)") from None


def list_query(phase: str | None = None, county: str | None = None, field: str | None = None,
               due_before: date | None = None, running: bool = False) -> str:
    """The visibility query on the search attributes of INTERFACE.md.

    ``due_before`` D: the next deadline falls due before day D begins (PD1: a deadline "on day X"
    ends at 24:00 of X, which is the start of X+1 in Asia/Shanghai).
    """
    clauses = ["WorkflowType = 'CenterLifecycle'"]
    if phase:
        clauses.append(f"{sa.CENTER_PHASE.name} = {_quote(phase)}")
    if county:
        clauses.append(f"{sa.CENTER_COUNTY.name} = {_quote(county)}")
    if field:
        clauses.append(f"{sa.CENTER_FIELD.name} = {_quote(field)}")
    if due_before:
        # "< bound + 1 s", not "<= bound": the dev server's SQLite visibility does not match a stored
        # datetime equal to the bound, and every due time is a whole second (24:00 of a day, PD1).
        bound = end_of_day(due_before - timedelta(days=1)) + timedelta(seconds=1)
        clauses.append(f"{sa.NEXT_DEADLINE.name} < {_quote(_utc(bound))}")
    if running:
        clauses.append("ExecutionStatus = 'Running'")
    return " AND ".join(clauses)


async def list_centers(ctx: Context, *, phase: str | None = None, county: str | None = None,
                       field: str | None = None, due_before: str | None = None, running: bool = False,
                       limit: int | None = None, as_json: bool = False) -> int:
    query = list_query(phase, county, field, parse_day(due_before) if due_before else None, running)
    client = await ctx.temporal()
    rows: list[dict[str, Any]] = []
    try:
        async for w in client.list_workflows(query, limit=limit):
            attrs = w.typed_search_attributes
            next_due = attrs.get(sa.NEXT_DEADLINE)
            rows.append({
                "center_id": w.id.removeprefix("center-"), "workflow_id": w.id, "run_id": w.run_id,
                "phase": attrs.get(sa.CENTER_PHASE), "county": attrs.get(sa.CENTER_COUNTY),
                "field": attrs.get(sa.CENTER_FIELD), "last_grade": attrs.get(sa.LAST_GRADE),
                "credit_code": attrs.get(sa.ENTITY_CREDIT_CODE),
                "next_deadline": next_due.isoformat() if next_due else None,
                "status": w.status.name.lower() if w.status else None,
                "started": w.start_time.isoformat() if w.start_time else None,
            })
    except RPCError as err:
        if err.status == RPCStatusCode.UNIMPLEMENTED:
            raise Failed("this Temporal server answers no visibility queries (the time-skipping test server?); "
                         "use the dev server of `make run` or a cluster") from None
        raise Failed(f"visibility query failed: {err.message}\n  query: {query}") from None
    rows.sort(key=lambda r: (r["next_deadline"] or "9999", r["center_id"], r["started"] or ""))
    if as_json:
        ctx.emit({"query": query, "centers": rows})
        return OK
    if not rows:
        ctx.print("no center matches")
    else:
        ctx.print(table(
            ["center", "phase", "county", "field", "grade", "next deadline (Asia/Shanghai)", "status", "started"],
            [(r["center_id"], r["phase"], r["county"], r["field"], r["last_grade"],
              due_text(datetime.fromisoformat(r["next_deadline"])) if r["next_deadline"] else None,
              r["status"], local_text(datetime.fromisoformat(r["started"])) if r["started"] else None)
             for r in rows],
        ))
        ctx.print(f"\n{len(rows)} lifecycle(s)")
    ctx.print(f"visibility query: {query}")
    return OK


# -- deadlines -------------------------------------------------------------------------------------


async def _running_state(ctx: Context, center_id: str, gate: asyncio.Semaphore) -> CenterState | None:
    client = await ctx.temporal()
    handle = client.get_workflow_handle(workflow_id(center_id))
    async with gate:
        try:
            # Raw describe: only the status is needed, and search attributes are not decoded (the
            # time-skipping test server keeps an unset one as a null payload the SDK cannot decode).
            description = await client.workflow_service.describe_workflow_execution(
                DescribeWorkflowExecutionRequest(namespace=client.namespace,
                                                 execution=WorkflowExecution(workflow_id=handle.id)),
                timeout=QUERY_TIMEOUT,
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None  # its closed history is past retention: nothing can be open
            raise
        if description.workflow_execution_info.status != WorkflowExecutionStatus.RUNNING:
            return None  # a lifecycle completes only once no deadline is left open
        return CenterState.model_validate(await handle.query("state", rpc_timeout=QUERY_TIMEOUT))


async def deadlines(ctx: Context, *, county: str | None = None, overdue_only: bool = False,
                    within_days: int | None = None, as_json: bool = False) -> int:
    """Every open deadline across centers: ids from the `centers` table, deadlines from each lifecycle."""
    conn = await ctx.db()
    try:
        if not await conn.fetchval("SELECT to_regclass('centers') IS NOT NULL"):
            raise Failed("no `centers` table yet: the worker applies the migrations when it starts (make run)")
        sql = "SELECT center_id FROM centers" + (" WHERE county = $1" if county else "") + " ORDER BY center_id"
        ids = [r["center_id"] for r in await conn.fetch(sql, *([county] if county else []))]
    finally:
        await conn.close()
    gate = asyncio.Semaphore(16)
    states = await asyncio.gather(*(_running_state(ctx, cid, gate) for cid in ids), return_exceptions=True)
    now = ctx.clock()
    rows, failures = [], []
    for cid, state in zip(ids, states):
        if isinstance(state, BaseException):
            reason = state.message if isinstance(state, RPCError) else str(state) or type(state).__name__
            failures.append(f"warning: could not read center {cid}: {reason}")
            continue
        if state is None:
            continue
        for d in state.agenda:
            if d.internal:  # a timer nobody acts on (the yearly M1 marker); `show` lists it as automatic
                continue
            status = deadline_status(d, now)
            if overdue_only and status != "OVERDUE":
                continue
            if within_days is not None and d.due_at > now + timedelta(days=within_days):
                continue
            rows.append((d, state))
    rows.sort(key=lambda pair: (pair[0].due_at, pair[1].center_id, pair[0].id))
    if as_json:
        ctx.emit([{
            "center_id": s.center_id, "name": s.display_name, "county": s.profile.county.value,
            "phase": s.phase.value, "deadline_id": d.id, "kind": d.kind, "rule_id": d.rule_id,
            "due_at": d.due_at.isoformat(), "who_acts": d.who_acts.value, "title_en": d.title_en,
            "title_zh": d.title_zh, "overdue": deadline_status(d, now) == "OVERDUE",
            # PD10: a period's nominal end when it differs, and whether the end is still provisional or held
            "nominal_due_at": d.nominal_due_at.isoformat() if d.nominal_due_at else None,
            "provisional": d.provisional, "held": d.held_since is not None,
        } for d, s in rows])
    elif not rows:
        ctx.print("no open deadline")
    else:
        ctx.print(table(
            ["due (Asia/Shanghai)", "status", "center", "county", "deadline", "rule", "who acts"],
            [(due_text(d.nominal_due_at if d.held_since and d.nominal_due_at else d.due_at) + period_note(d)[1],
              deadline_status(d, now), f"{s.center_id} {s.display_name}",
              county_text(s.profile.county.value), f"{d.title_en} / {d.title_zh}", d.rule_id, d.who_acts.value)
             for d, s in rows],
        ))
        overdue = sum(deadline_status(d, now) == "OVERDUE" for d, _ in rows)
        ctx.print(f"\n{len(rows)} open deadline(s), {overdue} overdue")
    for line in failures:
        ctx.warn(line)
    return 1 if failures else OK
