"""The staff work itself: start a lifecycle, send an action, read a center, list, deadlines, reports.

Both front ends call these functions with a :class:`StaffContext`; they get data back (never
printed text) and :mod:`staff.errors` when something fails. A refusal by a rule is
:class:`Refused`, naming the rule and the field.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import asyncpg
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import (
    WorkflowExecutionStatus, WorkflowQueryFailedError, WorkflowUpdateFailedError, WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from db.ledger import advances_granted
from db.migrate import table_exists
from db.outcomes import active_bans, center_known
from db.outcomes import center_ids as stored_center_ids
from models import search_attributes as sa
from models.actor import Action
from models.offices import load_offices, offices_file
from models.effects import AuditEntry, BanQuery
from models.importing import ImportCenter
from models.refusal_note import REFUSAL_NOTED, RefusalNote, ReportedRefusal
from models.policy import policy_in_force
from models.profile import CenterProfile
from models.state import ActionResult, CenterState, Deadline, LifecycleInput
from rules.calendar import end_of_day, local_date
from rules.catalog import ACTIONS
from rules.engine import Refusal
from rules.importing import import_lifecycle
from staff import reports
from staff.context import StaffContext
from staff.errors import BadInput, Failed, NotFound
from staff.payloads import validate
from staff.text import deadline_status
from workflows.lifecycle import CenterLifecycle
from workflows.visibility import initial_search_attributes, static_summary

QUERY_TIMEOUT = timedelta(seconds=30)


def workflow_id(center_id: str) -> str:
    return f"center-{center_id}"


class Refused(Failed):
    """A rule refused the action: nothing changed. Names the rule and the field."""

    def __init__(self, rule_id: str, field: str, message: str) -> None:
        super().__init__(f"refused [{rule_id}] {field}: {message}")
        self.rule_id, self.field, self.reason = rule_id, field, message
        self.audit_warning: str | None = None  # set when the refusal could not be audited


class NoAnswer(Failed):
    """The worker did not answer in time; the action may still be applied (retry with the same request_id)."""


async def _not_running(ctx: StaffContext, center_id: str, doing: str) -> Failed:
    """NOT_FOUND for an action: no workflow at all, or its lifecycle has ended."""
    try:
        description = await (await ctx.temporal()).get_workflow_handle(workflow_id(center_id)).describe()
    except RPCError:
        return _no_lifecycle(center_id)
    status = description.status.name.lower() if description.status else "closed"
    return NotFound(f"{doing} center {center_id}: its lifecycle has ended (workflow {status}); `centers show "
                    f"{center_id}` shows how, and `centers start FILE.json` starts a new one")


def _no_lifecycle(center_id: str) -> NotFound:
    return NotFound(f"center {center_id} has no lifecycle (no workflow {workflow_id(center_id)}): start it with "
                    "`centers start FILE.json`")


def _rpc_failure(err: RPCError, center_id: str, doing: str) -> Failed:
    if err.status == RPCStatusCode.NOT_FOUND:
        return _no_lifecycle(center_id)
    if err.status == RPCStatusCode.DEADLINE_EXCEEDED:
        return Failed(f"{doing} center {center_id}: no answer in time -- is the worker running (make run)?")
    return Failed(f"{doing} center {center_id}: {err.message}")


# -- start -----------------------------------------------------------------------------------------


@dataclass
class Started:
    workflow_id: str
    run_id: str | None
    policy_version: str
    ui_link: str
    phase: str = "preparing"


async def start(ctx: StaffContext, profile: CenterProfile, imported: ImportCenter | None = None) -> Started:
    """Start CenterLifecycle center-<id> with the policy in force today (PD8); one running lifecycle per center.

    ``imported``: an existing center brought in with its past (rules/importing.py); checked here first
    (a refusal is ``BadInput``: nothing starts), and again by the workflow, which records it.
    """
    try:
        offices = load_offices(profile.county, ctx.settings.centers_offices_file)
    except (OSError, KeyError, ValueError) as err:
        raise Failed(f"the staff mailbox directory {offices_file(ctx.settings.centers_offices_file)} has no usable entry for county "
                     f"{profile.county.value}: {err!r}") from None
    policy = policy_in_force(local_date(ctx.clock()))  # PD8: the guideline in effect today
    # The provisional state gives the search attributes and summary the list view shows from the start.
    provisional = CenterState(profile=profile, policy=policy, offices=offices, opened_at=ctx.clock())
    if imported is not None:
        try:
            provisional = import_lifecycle(provisional, imported, ctx.clock()).state
        except Refusal as refusal:
            raise BadInput(f"refused [{refusal.rule_id}] {refusal.field}: {refusal.message}") from None
        await _importable(ctx, imported, policy.yearly_city_cap_yuan)
    wid = workflow_id(profile.center_id)
    client = await ctx.temporal()
    try:
        handle = await client.start_workflow(
            CenterLifecycle.run,
            LifecycleInput(profile=profile, policy=policy, offices=offices, imported=imported),
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
    return Started(wid, handle.result_run_id, policy.version, ctx.ui_link(wid), provisional.phase.value)


async def _importable(ctx: StaffContext, imp: ImportCenter, cap: Decimal) -> None:
    """What only the database knows, checked before anything starts: the service has never seen this
    center (an import is not a way back from a revocation or a delisting), no ban stops its entity or
    lead unit (PD7), and each imported advance fits its year's city cap (PD6)."""
    conn = await ctx.db()
    try:
        center_id = imp.profile.center_id
        if await center_known(conn, center_id):
            raise BadInput(f"refused [INTERFACE] profile.center_id: {center_id} already has a lifecycle in this service; "
                           "import is for centers designated before it")
        bans = await active_bans(conn, BanQuery(
            implementing_entity_code=imp.profile.implementing_entity.credit_code,
            lead_unit_code=imp.profile.lead_unit.credit_code, field=imp.profile.field.value, on=local_date(ctx.clock())))
        if bans:
            raise BadInput(f"refused [PD7] profile: barred until {bans[0].ends_on} ({bans[0].reason})")
        for a in imp.advances:
            granted = await advances_granted(conn, a.year)
            if granted + a.amount_yuan > cap:
                raise BadInput(f"refused [PD6] advances: the {a.year} advance of {a.amount_yuan} yuan passes the year's "
                               f"cap of {cap} yuan ({granted} yuan already granted)")
    finally:
        await conn.close()


# -- actions ---------------------------------------------------------------------------------------


@dataclass
class Acted:
    """An action the workflow accepted (or answered before: ``result.duplicate``)."""

    result: ActionResult
    raw: dict[str, Any]


def parse_action(name: str, data: dict[str, Any]) -> Action:
    """The payload's shape at the door (BadInput names the field); the rules are the workflow's."""
    if name not in ACTIONS:
        raise BadInput(f"unknown action {name!r}")
    act = validate(ACTIONS[name].payload, data, f"{name} payload")
    assert isinstance(act, Action)
    return act


async def act(ctx: StaffContext, center_id: str, name: str, data: dict[str, Any], *,
              timeout: float = 120.0) -> Acted:
    """Send one staff action as an update; a refusal raises :class:`Refused` and is audited once, by the workflow."""
    act_ = parse_action(name, data)
    client = await ctx.temporal()
    handle = client.get_workflow_handle(workflow_id(center_id))
    try:
        answer = await asyncio.wait_for(handle.execute_update(name, data), timeout)
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        if isinstance(cause, ApplicationError) and cause.type == "ActionRefused":
            detail = cause.details[0] if cause.details and isinstance(cause.details[0], dict) else {}
            refusal = Refused(detail.get("rule_id", "?"), detail.get("field", "?"),
                              detail.get("message", cause.message))
            if not detail.get("audited"):
                refusal.audit_warning = await _report_refusal(handle, name, data, refusal)
            raise refusal from None
        raise Failed(f"{name} on {handle.id} failed: {cause or err}") from None
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise await _not_running(ctx, center_id, f"cannot send {name} to") from None
        raise _rpc_failure(err, center_id, f"cannot send {name} to") from None
    except (asyncio.TimeoutError, WorkflowUpdateRPCTimeoutOrCancelledError):
        # wait_for cancels the update call, which the SDK turns into its own error, not TimeoutError.
        raise NoAnswer(f"{name} on {handle.id}: no answer within {timeout:g} s -- is the worker running? "
                       f"It may still be applied; retry with --request-id {act_.request_id} "
                       "(a repeat changes nothing)") from None
    return Acted(ActionResult.model_validate(answer), answer)


async def signal(ctx: StaffContext, center_id: str, name: str, data: dict[str, Any]) -> None:
    """Send the action as a signal: a refusal is kept in the state and the audit log."""
    parse_action(name, data)
    handle = (await ctx.temporal()).get_workflow_handle(workflow_id(center_id))
    try:
        await handle.signal(name, data)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise await _not_running(ctx, center_id, f"cannot signal {name} to") from None
        raise _rpc_failure(err, center_id, f"cannot signal {name} to") from None


async def _report_refusal(handle: Any, name: str, data: dict[str, Any], refusal: Refused) -> str | None:
    """A validator cannot write, so the refusal is reported back to the workflow (``refusal_noted``),
    which judges the action again and writes the audit row itself. Returns a warning if it could not."""
    note = RefusalNote(action=name, payload=data,
                       reported=ReportedRefusal(rule_id=refusal.rule_id[:40] or "?", field=refusal.field[:200] or "?",
                                                message=refusal.reason[:2000] or "?"))
    try:
        await handle.signal(REFUSAL_NOTED, note.model_dump(mode="json"), rpc_timeout=timedelta(seconds=10))
    except Exception as err:  # the caller still learns of the refusal; the audit row is what is missing
        return f"warning: the refusal was not reported to the lifecycle for its audit log: {err}"
    return None


# -- show ------------------------------------------------------------------------------------------


async def query_state(ctx: StaffContext, center_id: str) -> dict[str, Any]:
    """The live state (query `state`) as JSON data."""
    client = await ctx.temporal()
    handle = client.get_workflow_handle(workflow_id(center_id))
    try:
        return await handle.query("state", rpc_timeout=QUERY_TIMEOUT)
    except RPCError as err:
        raise _rpc_failure(err, center_id, "cannot read") from None
    except WorkflowQueryFailedError as err:
        raise Failed(f"cannot read center {center_id}: {err}") from None


async def center_state(ctx: StaffContext, center_id: str) -> CenterState:
    return CenterState.model_validate(await query_state(ctx, center_id))


async def undelivered(ctx: StaffContext, center_id: str) -> tuple[list[Any], str | None]:
    """The center's mail the outbox has not delivered, and a warning if the database is away."""
    from db.mailer import undelivered_mail

    try:
        conn = await ctx.db()
    except Failed as err:
        return [], f"mail delivery status not shown: {err}"
    try:
        return await undelivered_mail(conn, center_id), None
    except asyncpg.PostgresError as err:  # e.g. a database the worker has not migrated yet
        return [], f"mail delivery status not shown: {err}"
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
               due_before: date | None = None, running: bool = False,
               counties: list[str] | None = None, center_ids: list[str] | None = None) -> str:
    """The visibility query on the search attributes of INTERFACE.md.

    ``due_before`` D: the next deadline falls due before day D begins (PD1: a deadline "on day X"
    ends at 24:00 of X, which is the start of X+1 in Asia/Shanghai). ``counties`` and
    ``center_ids`` restrict the list to a signed-in user's scope. Every value is quoted, so a
    filter cannot add a clause.
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
    if counties is not None:
        clauses.append(f"{sa.CENTER_COUNTY.name} IN ({', '.join(_quote(c) for c in counties) or _quote('')})")
    if center_ids is not None:
        ids = ", ".join(_quote(workflow_id(c)) for c in center_ids) or _quote("")
        clauses.append(f"WorkflowId IN ({ids})")
    return " AND ".join(clauses)


@dataclass
class Listing:
    query: str
    rows: list[dict[str, Any]] = field(default_factory=list)


async def list_centers(ctx: StaffContext, *, phase: str | None = None, county: str | None = None,
                       field: str | None = None, due_before: date | None = None, running: bool = False,
                       limit: int | None = None, counties: list[str] | None = None,
                       center_ids: list[str] | None = None) -> Listing:
    """The visibility query's rows, soonest next deadline first."""
    query = list_query(phase, county, field, due_before, running, counties, center_ids)
    client = await ctx.temporal()
    listing = Listing(query)
    try:
        async for w in client.list_workflows(query, limit=limit):
            attrs = w.typed_search_attributes
            next_due = attrs.get(sa.NEXT_DEADLINE)
            listing.rows.append({
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
    listing.rows.sort(key=lambda r: (r["next_deadline"] or "9999", r["center_id"], r["started"] or ""))
    return listing


# -- deadlines -------------------------------------------------------------------------------------


async def _running_state(ctx: StaffContext, center_id: str, gate: asyncio.Semaphore) -> CenterState | None:
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


@dataclass
class OpenDeadlines:
    rows: list[tuple[Deadline, CenterState]]
    failures: list[str]
    states: list[CenterState]
    """Every running center read (the portal's inbox also needs the pending steps)."""


async def known_center_ids(ctx: StaffContext, counties: list[str] | None = None,
                           center_ids: list[str] | None = None) -> list[str]:
    """Center ids from the `centers` table, optionally within a scope."""
    conn = await ctx.db()
    try:
        if not await table_exists(conn, "centers"):
            raise Failed("no `centers` table yet: the worker applies the migrations when it starts (make run)")
        return await stored_center_ids(conn, counties, center_ids)
    finally:
        await conn.close()


async def deadlines(ctx: StaffContext, *, county: str | None = None, overdue_only: bool = False,
                    within_days: int | None = None, counties: list[str] | None = None,
                    center_ids: list[str] | None = None) -> OpenDeadlines:
    """Every open deadline across centers: ids from the `centers` table, deadlines from each lifecycle."""
    scope = [county] if county else counties
    if county and counties is not None and county not in counties:
        scope = []
    ids = await known_center_ids(ctx, scope, center_ids)
    gate = asyncio.Semaphore(16)
    states = await asyncio.gather(*(_running_state(ctx, cid, gate) for cid in ids), return_exceptions=True)
    now = ctx.clock()
    found = OpenDeadlines([], [], [])
    for cid, state in zip(ids, states):
        if isinstance(state, BaseException):
            reason = state.message if isinstance(state, RPCError) else str(state) or type(state).__name__
            found.failures.append(f"warning: could not read center {cid}: {reason}")
            continue
        if state is None:
            continue
        found.states.append(state)
        for d in state.agenda:
            if d.internal:  # a timer nobody acts on (the yearly M1 marker); `show` lists it as automatic
                continue
            status = deadline_status(d, now)
            if overdue_only and status != "OVERDUE":
                continue
            if within_days is not None and d.due_at > now + timedelta(days=within_days):
                continue
            found.rows.append((d, state))
    found.rows.sort(key=lambda pair: (pair[0].due_at, pair[1].center_id, pair[0].id))
    return found


# -- reports ---------------------------------------------------------------------------------------


async def report(ctx: StaffContext, name: str) -> reports.Report:
    """One of the bureau's reports (coverage, status, ledger) from PostgreSQL."""
    if name not in reports.REPORTS:
        raise BadInput(f"no report {name!r}: one of {', '.join(reports.REPORTS)}")
    conn = await ctx.db()
    try:
        return await reports.REPORTS[name](conn)
    finally:
        await conn.close()


# -- a center's whole record (the portal's center page) --------------------------------------------


@dataclass
class CenterRecord:
    state: CenterState
    audit: list[AuditEntry]
    balances: list[Any]
    city_years: list[Any]
    ui_link: str


async def center_record(ctx: StaffContext, center_id: str) -> CenterRecord:
    """The live state (query) with the audit trail and the money from PostgreSQL."""
    from db.ledger import center_balances, city_years
    from db.outcomes import list_audit

    state = await center_state(ctx, center_id)
    conn = await ctx.db()
    try:
        audit = await list_audit(conn, center_id)
        has_ledger = await table_exists(conn, "subsidy_ledger")
        balances = await center_balances(conn, center_id) if has_ledger else []
        years = await city_years(conn) if has_ledger else []
    finally:
        await conn.close()
    return CenterRecord(state, audit, balances, years, ctx.ui_link(workflow_id(center_id)))
