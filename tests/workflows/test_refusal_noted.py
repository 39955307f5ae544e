"""An update refused by its validator is audited by the workflow (issue 13: one home for the refusal
row). The staff layer reports it back with the `refusal_noted` signal; the workflow judges the action
again, writes the row with its own reason, and never applies the action.
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from db.outcomes import list_audit
from models.refusal_note import REFUSAL_NOTED
from tests.fixtures import factories as f
from tests.workflows.flows import state_of


def note(action: str, payload: dict, rule_id: str = "D5", field: str = "actor.county",
         message: str = "as the client saw it") -> dict:
    return {"action": action, "payload": payload,
            "reported": {"rule_id": rule_id, "field": field, "message": message}}


async def settled(handle) -> None:
    """An accepted update queues behind earlier signals, and its answer follows every record before it."""
    await handle.execute_update("withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                             "reason": "测试结束"})


async def test_d5_refusal_noted_is_judged_again_and_audited_with_the_workflows_reason(centers, db_pool):
    handle = await centers.start(f.profile())
    await handle.execute_update("submit_application", f.application())
    wrong = f.county_review(county="putuo", request_id="wrong-county")
    await handle.signal(REFUSAL_NOTED, note("record_county_review", wrong, rule_id="X9", message="made up"))
    await handle.signal(REFUSAL_NOTED, note("record_county_review", wrong))  # a repeat adds nothing
    await settled(handle)
    state = await state_of(handle)
    assert [(r.action, r.request_id, r.via, r.rule_id, r.field) for r in state.rejected] == [
        ("record_county_review", "wrong-county", "update", "D5", "actor.county")]
    assert "made up" not in state.rejected[0].message
    async with db_pool.acquire() as conn:
        rows = [a for a in await list_audit(conn, state.center_id) if a.outcome == "rejected"]
    assert [(a.action, a.request_id, a.rule_ids, a.actor_county, a.phase_before) for a in rows] == [
        ("record_county_review", "wrong-county", ["D5"], "putuo", "county_review")]


async def test_refusal_noted_never_applies_an_action_that_would_now_pass(centers, db_pool):
    """The state changed between the validator's refusal and the report: the row keeps the reported
    reason, marked as such, and the action is not taken."""
    handle = await centers.start(f.profile())
    await handle.execute_update("submit_application", f.application())
    valid = f.county_review(request_id="now-valid")
    await handle.signal(REFUSAL_NOTED, note("record_county_review", valid, message="refused earlier"))
    await settled(handle)
    state = await state_of(handle)
    assert state.county_review is None and state.phase.value == "withdrawn"
    assert [(r.request_id, r.rule_id) for r in state.rejected] == [("now-valid", "D5")]
    assert "refused earlier" in state.rejected[0].message and "state has changed since" in state.rejected[0].message
    assert "now-valid" not in state.answered


async def test_refusal_noted_junk_is_ignored_and_never_fails_a_task(centers):
    handle = await centers.start(f.profile())
    junk = [None, 1, "x", [], {}, {"action": "record_county_review"},
            note("no_such_action", {}), note("record_county_review", {}, message="\x00nul"),
            {**note("record_county_review", {}), "extra": 1},
            note("record_county_review", {}, message="y" * 5000)]
    for payload in junk:
        await handle.signal(REFUSAL_NOTED, payload)
    await settled(handle)
    state = await state_of(handle)
    assert state.rejected == [] and state.phase.value == "withdrawn"
    history = await handle.fetch_history()
    assert [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED] == []
