"""Designation procedure end to end on the time-skipping server, real PostgreSQL and SMTP (D1-D7, PD2, PD7)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.outcomes import get_center, list_audit, record_batch
from models.effects import Ban, OutcomeBatch
from tests.fixtures import factories as f
from tests.workflows.flows import (
    dismiss, issue_document, notice_ended_with_open_objection, objection, state_of, through_evaluation, today, until,
)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


async def refusal(handle, action: str, payload: dict) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(action, payload)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ActionRefused"
    return cause


async def test_d7_a_notice_recorded_after_it_ended_needs_its_reason(centers, env):
    """D7, PD2: the bureau records, two weeks late, a notice published on the evaluation day: refused
    without `recorded_late`; with it, the notice ends at once (its 5th working day is past) and the
    designation document falls due (PD16). (The 2025 National Day case is in tests/rules/test_calendar.py.)"""
    handle = await centers.start(f.profile())
    await through_evaluation(handle)
    evaluated_on = (await state_of(handle)).city_evaluation.on
    await env.sleep(timedelta(days=14))
    cause = await refusal(handle, "publish_notice", f.notice(evaluated_on))
    assert (cause.details[0]["rule_id"], cause.details[0]["field"]) == ("D7", "recorded_late")
    await handle.execute_update("publish_notice", f.notice(evaluated_on, recorded_late="系统上线前已在官网公示"))
    state = await until(handle, lambda s: s.notice.ended, "late notice ended")
    assert state.notice.published_on == evaluated_on and state.notice.ends_at < await env.get_current_time()
    assert state.deadline("designation-document") is not None


async def test_d5_county_department_of_another_county_is_refused(centers):
    handle = await centers.start(f.profile(county="dinghai"))
    await handle.execute_update("submit_application", f.application())
    cause = await refusal(handle, "record_county_review", f.county_review(county="putuo"))
    assert cause.details[0]["field"] == "actor.county" and cause.details[0]["rule_id"] == "D5"
    assert (await state_of(handle)).phase == "county_review"


async def test_d4_missing_commitment_letter_is_refused(centers):
    handle = await centers.start(f.profile())
    cause = await refusal(handle, "submit_application", f.application(commitment_letter=None))
    assert cause.details[0] == {"rule_id": "D4", "field": "commitment_letter", "message": cause.details[0]["message"],
                                "audited": False}  # refused by the validator: the caller reports it back
    assert (await state_of(handle)).phase == "preparing"


async def test_d7_objection_after_notice_end_is_refused_and_open_objection_holds_designation(centers, env):
    handle = await centers.start(f.profile())
    state = await notice_ended_with_open_objection(handle, env)
    assert state.phase == "public_notice" and state.notice.ended
    late = await refusal(handle, "file_objection", objection("张某"))
    assert late.details[0]["rule_id"] == "D7" and late.details[0]["field"] == "notice"
    await dismiss(handle, state.objections[0].id)
    state = await state_of(handle)
    assert state.phase == "public_notice" and state.deadline("designation-document") is not None  # PD16
    await issue_document(handle, env)
    assert (await state_of(handle)).phase == "designated"


async def test_d7_repeated_request_id_returns_first_result(centers):
    handle = await centers.start(f.profile())
    payload = f.application()
    first = await handle.execute_update("submit_application", payload)
    again = await handle.execute_update("submit_application", payload)
    assert again["duplicate"] is True and again["summary"] == first["summary"]
    assert (await state_of(handle)).revision == first["revision"]


async def test_d3_rejected_signal_is_recorded_not_failing(centers):
    handle = await centers.start(f.profile())
    bad = f.application()
    bad["checklist"]["innovation_functions"]["pilot_testing"] = {"met": False, "evidence": "尚未建成"}
    await handle.signal("submit_application", bad)
    await handle.signal("submit_application", "not even an object")
    for _ in range(50):
        state = await state_of(handle)
        if len(state.rejected) == 2:
            break
    assert [r.field for r in state.rejected] == ["checklist.innovation_functions.pilot_testing", "payload"]
    assert state.phase == "preparing"


async def test_pd7_banned_entity_is_refused_with_the_end_date(centers, db_pool, env):
    """PD7: the bans registry in PostgreSQL stops an application inside a ban, naming its end."""
    profile = f.profile()
    now = await today(env)
    ends_on = now + timedelta(days=365)
    ban = Ban(key=f"ban-{profile.center_id}", center_id="c-old", subject_kind="implementing_entity",
              credit_code=profile.implementing_entity.credit_code, subject_name=profile.implementing_entity.name,
              scope="any", rule_id="M2", starts_on=now - timedelta(days=365), ends_on=ends_on,
              reason="delisted after a failed rectification")
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id="c-old", bans=[ban]))
    handle = await centers.start(profile)
    cause = await refusal(handle, "submit_application", f.application())
    assert cause.details[0]["rule_id"] == "PD7" and str(ends_on) in cause.details[0]["message"]
    state = await state_of(handle)
    assert state.phase == "preparing" and state.rejected[-1].rule_id == "PD7"
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
    assert [a.outcome for a in audit if a.action == "submit_application"] == ["rejected"]


async def test_d1_a_center_can_start_again_after_its_lifecycle_ended(centers, env, db_pool):
    """A withdrawn center starts a new lifecycle under the same id; its records do not collide."""
    profile = f.profile()
    first = await centers.start(profile)
    await first.execute_update("withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                            "reason": "重新组建"})
    assert (await first.result()).phase == "withdrawn"
    await env.sleep(timedelta(days=1))
    second = await centers.start(profile)
    await second.execute_update("submit_application", f.application())
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
        row = await get_center(conn, profile.center_id)
    assert [a.action for a in audit] == ["opened", "withdraw", "opened", "submit_application"]
    assert row is not None and row.phase == "county_review"
