"""Reusable steps that bring a center through the designation procedure in tests."""

from __future__ import annotations

import asyncio
from datetime import date, timedelta

from models.state import CenterState
from rules.calendar import end_of_day, local_date
from tests.fixtures import factories as f


async def state_of(handle) -> CenterState:
    return await handle.query("state", result_type=CenterState)


async def until(handle, predicate, what: str) -> CenterState:
    """The workflow applies what fell due right after the server skips time; poll briefly for it."""
    for _ in range(200):
        state = await state_of(handle)
        if predicate(state):
            return state
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: not reached; phase {state.phase}, agenda {[d.id for d in state.agenda]}")


async def advance_and_settle(handle, env, advance: str, due: str) -> CenterState:
    """S2: this year's advance, then (PD13: from 1 January of the next year) a settlement below it,
    which opens a clawback."""
    bureau = f.actor("city_bureau")
    year = (await today(env)).year
    await handle.execute_update("grant_advance", {"actor": bureau, "request_id": f.rid(), "year": year,
                                                  "amount_yuan": advance, "payment_ref": "拨款单"})
    await env.sleep(end_of_day(date(year, 12, 31)) + timedelta(hours=2) - await env.get_current_time())
    await handle.execute_update("settle_subsidy", {"actor": bureau, "request_id": f.rid(), "year": year,
                                                   "amount_due_yuan": due, "assessment_ref": "绩效评价"})
    return await state_of(handle)


async def today(env) -> date:
    return local_date(await env.get_current_time())


async def through_evaluation(handle, evaluated_on: date | None = None) -> None:
    await handle.execute_update("submit_application", f.application())
    await handle.execute_update("record_county_review", f.county_review())
    await handle.execute_update("record_city_evaluation", f.city_evaluation(evaluated_on=evaluated_on))


def unique_xx(handle) -> str:
    """PD16: the name is unique among live centers, and the tests share one database: the bureau
    sets another ×× for each (tests of the default name use a database of their own)."""
    return "新材料" + handle.id[-6:]


async def issue_document(handle, env, name_xx: str | None = None) -> dict:
    """PD16: the bureau issues the designation document today."""
    return await handle.execute_update("issue_designation", f.designation_document(
        await today(env), name_xx=name_xx or unique_xx(handle)))


async def designate(handle, env, name_xx: str | None = None) -> CenterState:
    """D3-D7 with today's date; sleeps past the 5-working-day notice; PD16: the bureau then issues
    the designation document (name_xx: the ×× of the name, unique per test center by default)."""
    await through_evaluation(handle)
    await handle.execute_update("publish_notice", f.notice(await today(env)))
    state = await state_of(handle)
    await env.sleep(state.notice.ends_at - await env.get_current_time() + timedelta(minutes=1))
    state = await until(handle, lambda s: s.deadline("designation-document") is not None, "document due")
    await issue_document(handle, env, name_xx)
    state = await state_of(handle)
    assert state.phase == "designated", state.phase
    return state


def objection(objector: str = "李某") -> dict:
    return {"actor": f.actor("public", name=objector), "request_id": f.rid(),
            "objector": objector, "contact": "li@example.com", "grounds": "材料存在不实之处"}


async def notice_ended_with_open_objection(handle, env) -> CenterState:
    """D7: an objection is filed during the notice, which then ends with it still open."""
    await through_evaluation(handle)
    await handle.execute_update("publish_notice", f.notice(await today(env)))
    await handle.execute_update("file_objection", objection())
    state = await state_of(handle)
    await env.sleep(state.notice.ends_at - await env.get_current_time() + timedelta(hours=1))
    return await state_of(handle)


async def dismiss(handle, objection_id: str) -> None:
    await handle.execute_update("resolve_objection", {
        "actor": f.actor("city_bureau"), "request_id": f.rid(),
        "objection_id": objection_id, "outcome": "dismissed", "finding": "经核实不成立"})


async def objection_held_then_dismissed(handle, env) -> CenterState:
    """D7, PD16: an objection still open when the notice ends holds the designation until it is
    resolved; then the bureau issues the designation document."""
    state = await notice_ended_with_open_objection(handle, env)
    await dismiss(handle, state.objections[0].id)
    await issue_document(handle, env)
    return await state_of(handle)


async def refused_signals(handle, env) -> CenterState:
    """Refused signals are recorded in the state and never fail the workflow task."""
    bad = f.application()
    bad["checklist"]["innovation_functions"]["pilot_testing"] = {"met": False, "evidence": "尚未建成"}
    await handle.signal("submit_application", bad)
    await handle.signal("submit_application", "not even an object")
    await handle.signal("submit_application", f.application())
    for _ in range(100):
        state = await state_of(handle)
        if state.phase == "county_review":
            return state
    raise AssertionError(f"signals not processed: {state.rejected}")


async def validator_refusal_audited(handle, env) -> CenterState:
    """D5: an update refused by its validator, reported back with refusal_noted (as the staff layer
    does) and audited by the workflow; then the county's own review."""
    from models.refusal_note import REFUSAL_NOTED

    await handle.execute_update("submit_application", f.application())
    wrong = f.county_review(county="putuo", request_id="wrong-county")
    await handle.signal(REFUSAL_NOTED, {"action": "record_county_review", "payload": wrong,
                                        "reported": {"rule_id": "D5", "field": "actor.county", "message": "refused"}})
    await handle.execute_update("record_county_review", f.county_review())
    state = await state_of(handle)
    assert [(r.request_id, r.rule_id) for r in state.rejected] == [("wrong-county", "D5")], state.rejected
    return state


async def advance_settled_into_clawback_and_repaid(handle, env) -> CenterState:
    """S1, S2: an advance, a settlement below it (clawback with PD9 reminders), then its repayment."""
    state = await advance_and_settle(handle, env, "1000.00", "600.00")
    clawback = next(d for d in state.agenda if d.id.startswith("clawback"))
    await env.sleep(clawback.due_at - await env.get_current_time() - timedelta(days=3))
    await handle.execute_update("record_repayment", {"actor": f.actor("city_bureau"), "request_id": f.rid(),
                                                     "year": state.subsidy.years[0].year,
                                                     "amount_yuan": "400.00", "receipt_ref": "缴款书"})
    return await state_of(handle)


async def withdrawn_money_settled_after_the_lapse(handle, env) -> CenterState:
    """PD13, PD14: an advance, a withdrawal, the S3 lapse (the money stays open, no clawback by
    itself), then the bureau's settlement and the repayment of the rest: the lifecycle completes."""
    bureau = f.actor("city_bureau")
    start = await today(env)
    await handle.execute_update("grant_advance", {"actor": bureau, "request_id": f.rid(), "year": start.year,
                                                  "amount_yuan": "1000.00", "payment_ref": "拨款单"})
    await handle.execute_update("withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                             "reason": "不再建设"})
    state = await state_of(handle)
    lapse = state.deadline("s3-designation").due_at
    await env.sleep(lapse - await env.get_current_time() + timedelta(hours=1))
    await until(handle, lambda s: s.subsidy.s3_lapsed, "S3 lapse")
    await handle.execute_update("settle_subsidy", {"actor": bureau, "request_id": f.rid(), "year": start.year,
                                                   "amount_due_yuan": "300.00", "assessment_ref": "绩效评价"})
    await handle.execute_update("record_repayment", {"actor": bureau, "request_id": f.rid(), "year": start.year,
                                                     "amount_yuan": "700.00", "receipt_ref": "缴款书"})
    return await handle.result()


async def rejected_then_reapplied(handle, env) -> CenterState:
    """S3 (docs/decisions.md): rejected after an advance, the center applies again in the same lifecycle."""
    await handle.execute_update("grant_advance", {"actor": f.actor("city_bureau"), "request_id": f.rid(),
                                                  "amount_yuan": "1000.00", "payment_ref": "拨款单"})
    await handle.execute_update("submit_application", f.application())
    await handle.execute_update("record_county_review", f.county_review(recommend=False))
    await env.sleep(timedelta(days=10))
    await handle.execute_update("submit_application", f.application())
    return await state_of(handle)
