"""Designation procedure end to end on the time-skipping server, real PostgreSQL and SMTP (D1-D7, PD2, PD7)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.outcomes import get_center, list_audit, record_batch
from models.effects import Ban, OutcomeBatch
from tests.fixtures import factories as f
from tests.workflows.flows import dismiss, notice_ended_with_open_objection, objection, state_of, through_evaluation, today


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


async def refusal(handle, action: str, payload: dict) -> ApplicationError:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(action, payload)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ActionRefused"
    return cause


async def test_d7_full_run_to_designation_with_audit_and_mail(centers, env, db_pool, smtp_server):
    """D1-D7: application, county review, city evaluation, 5-working-day notice, designation."""
    profile = f.profile()
    handle = await centers.start(profile)
    await through_evaluation(handle)
    result = await handle.execute_update("publish_notice", f.notice(await today(env)))
    assert result["phase"] == "public_notice"
    state = await state_of(handle)
    assert state.notice is not None and state.deadline("notice-end") is not None
    await env.sleep(state.notice.ends_at - await env.get_current_time() + timedelta(minutes=1))
    state = await state_of(handle)
    assert state.phase == "designated"
    assert state.designation and state.designation.name == "舟山市新材料产业创新中心"

    async with db_pool.acquire() as conn:
        rows = await list_audit(conn, profile.center_id)
    actions = [r.action for r in rows]
    for expected in ("opened", "submit_application", "record_county_review", "record_city_evaluation",
                     "publish_notice", "due:notice_end"):
        assert expected in actions
    designated = await smtp_server.wait_for(
        lambda m: profile.center_id in text_of(m) and "Designation" in str(m["Subject"]), timeout=10)
    assert "舟山市新材料产业创新中心" in text_of(designated)
    assert set(designated["To"].addresses[i].addr_spec for i in range(len(designated["To"].addresses))) == {
        "wangmin@center.example", "kj-dinghai@zhoushan.example", "kjj@zhoushan.example"}


async def test_d7_notice_before_2025_national_day_ends_after_the_holiday(centers, env):
    """D7, PD2: published Fri 2025-09-26, 5 working days: 26, 28 (adjusted Sunday), 29, 30, 9 Oct."""
    handle = await centers.start(f.profile())
    await through_evaluation(handle, evaluated_on=date(2025, 9, 20))
    await handle.execute_update("publish_notice", f.notice(date(2025, 9, 26)))
    state = await state_of(handle)
    assert state.notice.ends_at == datetime(2025, 10, 9, 16, 0, tzinfo=timezone.utc)


async def test_d5_county_department_of_another_county_is_refused(centers):
    handle = await centers.start(f.profile(county="dinghai"))
    await handle.execute_update("submit_application", f.application())
    cause = await refusal(handle, "record_county_review", f.county_review(county="putuo"))
    assert cause.details[0]["field"] == "actor.county" and cause.details[0]["rule_id"] == "D5"
    assert (await state_of(handle)).phase == "county_review"


async def test_d4_missing_commitment_letter_is_refused(centers):
    handle = await centers.start(f.profile())
    cause = await refusal(handle, "submit_application", f.application(commitment_letter=None))
    assert cause.details[0] == {"rule_id": "D4", "field": "commitment_letter", "message": cause.details[0]["message"]}
    assert (await state_of(handle)).phase == "preparing"


async def test_d7_objection_after_notice_end_is_refused_and_open_objection_holds_designation(centers, env):
    handle = await centers.start(f.profile())
    state = await notice_ended_with_open_objection(handle, env)
    assert state.phase == "public_notice" and state.notice.ended
    late = await refusal(handle, "file_objection", objection("张某"))
    assert late.details[0]["rule_id"] == "D7" and late.details[0]["field"] == "notice"
    await dismiss(handle, state.objections[0].id)
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
