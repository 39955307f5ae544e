"""The commands behind `centers`: the staff layer's work (staff/service.py), printed for a terminal."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from centers import portal_client
from centers.context import Context
from centers.errors import OK, BadInput
from centers.payloads import fill_envelope, read_json, validate
from centers.render import county_text, deadline_status, due_text, local_text, state_text, table
from models.profile import CenterProfile
from models.state import CenterState
from rules.messages import period_note
from staff import service
from staff.service import Refused, list_query, parse_day, workflow_id  # noqa: F401  re-exported

# -- start -----------------------------------------------------------------------------------------


async def start(ctx: Context, file: str) -> int:
    """Validate the profile at the door, then start CenterLifecycle center-<id> with the 2025 policy (PD8)."""
    profile = validate(CenterProfile, read_json(file, what="profile"), "profile")
    assert isinstance(profile, CenterProfile)
    started = await service.start(ctx, profile)
    ctx.print(f"started {started.workflow_id} (run {started.run_id}), policy {started.policy_version}")
    ctx.print(f"web UI  {started.ui_link}")
    if ctx.json_mode:
        ctx.emit({"outcome": "started", "workflow_id": started.workflow_id, "run_id": started.run_id,
                  "policy": started.policy_version, "ui": started.ui_link})
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
    raw = read_json(args.file, args.json_text, what=f"{name} payload")
    data, rid = fill_envelope(raw, request_id=args.request_id, actor_name=args.actor_name,
                              actor_role=args.actor_role, actor_county=args.actor_county)
    if ctx.settings.centers_portal_url:  # the portal checks the payload and fills the actor
        ctx.print(f"request_id {rid}  (reuse it with --request-id to retry safely)")
        return await _through_portal(ctx, name, args, data)
    # At the door only the payload's shape is checked; the rules are the workflow's to apply.
    try:
        service.parse_action(name, data)
    except BadInput as err:
        if "actor" not in data:
            raise BadInput(f"{err.message}\n  (give the actor in the payload, or --actor-name and --actor-role)") from None
        raise
    ctx.print(f"request_id {rid}  (reuse it with --request-id to retry safely)")
    wid = workflow_id(args.center_id)

    if args.signal:
        await service.signal(ctx, args.center_id, name, data)
        ctx.print(f"signal {name} sent to {wid}; a refusal is kept in its state and the audit log "
                  f"(centers show {args.center_id})")
        if ctx.json_mode:
            ctx.emit({"outcome": "signalled", "action": name, "workflow_id": wid, "request_id": rid})
        return OK

    try:
        acted = await service.act(ctx, args.center_id, name, data, timeout=args.timeout)
    except Refused as refusal:
        ctx.print(f"refused [{refusal.rule_id}] {refusal.field}: {refusal.reason}")
        if refusal.audit_warning:
            ctx.warn(refusal.audit_warning)
        if ctx.json_mode:
            ctx.emit({"outcome": "refused", "action": name, "workflow_id": wid, "request_id": rid,
                      "rule_id": refusal.rule_id, "field": refusal.field, "message": refusal.reason})
        return 1
    result = acted.result
    if ctx.json_mode:
        ctx.emit({"outcome": "duplicate" if result.duplicate else "accepted", "action": name, "workflow_id": wid,
                  "request_id": rid, "result": acted.raw})
    elif args.raw:
        ctx.emit(acted.raw)
    else:
        _print_answer(ctx, name, rid, result.duplicate, result.summary, result.phase.value,
                      f"on {wid}", f" at {local_text(result.at)}")
    return OK


def _print_answer(ctx: Context, name: str, rid: str, duplicate: bool, summary: str, phase: str, where: str,
                  when: str = "") -> None:
    """The two lines a clerk reads after an action, sent directly or through the portal."""
    if duplicate:
        ctx.print(f"already answered: request {rid} was {name}{when}; nothing changed")
        ctx.print(f"  {summary}; phase {phase}")
    else:
        ctx.print(f"accepted {name} {where}: {summary}")
        ctx.print(f"phase {phase}")


async def _through_portal(ctx: Context, name: str, args: ActionArgs, data: dict) -> int:
    """CENTERS_PORTAL_URL: the portal acts as the token's user (the actor given here is ignored)."""
    if args.signal:
        raise BadInput("--signal is not available through the portal (CENTERS_PORTAL_URL): send it as an update")
    if "actor" in data:
        ctx.warn("note: the portal acts as the signed-in owner of the token; --actor-* are ignored")
    token = ctx.settings.centers_portal_token
    answer = await portal_client.act(ctx.settings.centers_portal_url or "", token.get_secret_value() if token else None,
                                     args.center_id, name, data, args.timeout)
    refused = answer.get("refused")
    if ctx.json_mode:
        ctx.emit({"outcome": "refused" if refused else ("duplicate" if answer["result"].get("duplicate") else
                  "accepted"), "action": name, "via": "portal", **answer})
    if refused:
        ctx.print(f"refused [{refused['rule_id']}] {refused['field']}: {refused['message']}")
        return 1
    result = answer["result"]
    _print_answer(ctx, name, answer["request_id"], bool(result.get("duplicate")), result["summary"], result["phase"],
                  f"on {workflow_id(args.center_id)} through the portal")
    return OK


# -- show ------------------------------------------------------------------------------------------


async def show(ctx: Context, center_id: str, as_json: bool = False) -> int:
    raw = await service.query_state(ctx, center_id)
    if as_json:
        ctx.emit(raw)
    else:
        state = CenterState.model_validate(raw)
        mail, warning = await service.undelivered(ctx, center_id)
        if warning:
            ctx.warn(warning)
        ctx.print(state_text(state, ctx.clock(), ctx.ui_link(workflow_id(center_id)), mail))
    return OK


# -- list ------------------------------------------------------------------------------------------


async def list_centers(ctx: Context, *, phase: str | None = None, county: str | None = None,
                       field: str | None = None, due_before: str | None = None, running: bool = False,
                       limit: int | None = None, as_json: bool = False) -> int:
    listing = await service.list_centers(ctx, phase=phase, county=county, field=field, running=running,
                                         due_before=parse_day(due_before) if due_before else None, limit=limit)
    rows, query = listing.rows, listing.query
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


async def deadlines(ctx: Context, *, county: str | None = None, overdue_only: bool = False,
                    within_days: int | None = None, as_json: bool = False) -> int:
    """Every open deadline across centers, soonest first."""
    found = await service.deadlines(ctx, county=county, overdue_only=overdue_only, within_days=within_days)
    rows, now = found.rows, ctx.clock()
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
    for line in found.failures:
        ctx.warn(line)
    return 1 if found.failures else OK
