"""Operating life end to end on the time-skipping server with the real policy (M1-M4, M7, PD3, PD4, PD7, PD15)."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.outcomes import active_bans, get_center
from models import search_attributes as sa
from models.effects import BanQuery
from models.state import CenterState
from rules.calendar import default_calendar, end_of_day, local_date, period_end
from tests.fixtures import factories as f
from tests.fixtures.temporal import chain_histories
from tests.workflows.flows import designate, state_of, until
from tests.workflows.scenarios import (
    TEN_YEAR_UNQUALIFIED_YEAR, designate_for_next_year, report_and_grade, sleep_until_local, ten_year_lifecycle, unqualified_then_rectified,
)


async def refusal(handle, action: str, payload: dict) -> dict:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(action, payload)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ActionRefused"
    return cause.details[0]

MAX_EVENTS_PER_RUN = 2000


async def test_m1_m7_designated_in_the_second_half_graded_for_ten_years(centers, env, client):
    """Ten yearly reports and grades (one unqualified year rectified, M2); the lifecycle
    continues-as-new every year and every run of the chain stays far under 2,000 events."""
    handle = await centers.start(f.profile())
    state = await ten_year_lifecycle(handle, env)
    first = state.designation.on.year + 1
    assert sorted(state.operating.grades) == list(range(first, first + 10))
    assert state.operating.grades[first + TEN_YEAR_UNQUALIFIED_YEAR] == "不合格"
    assert [r.result for r in state.operating.rectifications] == ["passed"]
    assert all(state.operating.years[y].report_ref == f"NB-{y}" for y in range(first, first + 10))
    assert not any(state.operating.years[y].report_late for y in range(first, first + 10))
    assert state.phase == "designated" and not any(d.overdue for d in state.agenda)
    histories = await chain_histories(client, handle.id, handle.result_run_id)
    assert len(histories) >= 11  # the designation run, then one run per calendar year
    assert max(len(h.events) for h in histories) < MAX_EVENTS_PER_RUN
    # The state budget (issue 9): ten years of a typical life are a few dozen KB, not megabytes.
    assert len(state.model_dump_json().encode()) < 48 * 1024
    # The `centers` fixture replays every run of the chain when the test ends.


async def test_m1_continue_as_new_keeps_the_state_and_pending_deadlines(centers, env):
    """At the new year the run continues-as-new: the state queried on the last run equals the
    state of the new one, field for field, and the pending deadlines carry over."""
    handle = await centers.start(f.profile())
    state = await designate_for_next_year(handle, env)
    year = state.designation.on.year
    await sleep_until_local(env, date(year + 1, 1, 1), hour=2)
    after = await until(handle, lambda s: s.deadline(f"annual_report-{year + 1}") is not None, "new year")
    histories = await chain_histories(env.client, handle.id, handle.result_run_id)
    assert len(histories) >= 2  # a new run (more if time skipped over a new year before designation)
    previous = histories[-2].events[0].workflow_execution_started_event_attributes.original_execution_run_id
    before = await env.client.get_workflow_handle(handle.id, run_id=previous).query("state", result_type=CenterState)
    assert before == after
    assert {f"annual_report-{year + 1}", f"annual_evaluation-{year + 1}", f"year-{year + 2}"} == {
        d.id for d in after.agenda}


async def test_m1_notice_across_the_year_end_designates_in_january_and_evaluates_that_year(centers, env):
    """The year-end cliff, whatever day the suite runs: a notice published on 27 December ends in
    January (counted on the next year's working days), so the designation year is evaluated (M1)."""
    now = local_date(await env.get_current_time())
    year = now.year if (now.month, now.day) < (12, 27) else now.year + 1
    await sleep_until_local(env, date(year, 12, 27))
    handle = await centers.start(f.profile())
    state = await designate(handle, env)
    assert state.designation.on.year == year + 1 and state.designation.on.month == 1
    assert {d.id for d in state.agenda} == {
        f"annual_report-{year + 1}", f"annual_evaluation-{year + 1}", f"year-{year + 2}"}


async def next_deadline_attribute(client, workflow_id: str) -> datetime | None:
    """NextDeadline as the server holds it. The time-skipping server keeps an unset attribute as a
    `binary/null` payload, which `describe()` cannot decode (the dev server drops the key), so read it raw."""
    response = await client.workflow_service.describe_workflow_execution(DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)))
    payload = response.workflow_execution_info.search_attributes.indexed_fields.get(sa.NEXT_DEADLINE.name)
    if payload is None or payload.metadata.get("encoding") == b"binary/null":
        return None
    return datetime.fromisoformat(json.loads(payload.data))


async def test_m1_year_marker_is_not_a_deadline_for_staff(centers, env, db_pool):
    """The yearly marker is a timer nobody acts on: NextDeadline, the status board and `deadlines`
    skip it, the UI's current details list it as automatic; the year's real deadlines take over."""
    handle = await centers.start(f.profile())
    state = await designate_for_next_year(handle, env)
    year = state.designation.on.year + 1
    assert [d.id for d in state.agenda] == [f"year-{year}"] and state.agenda[0].internal
    assert await next_deadline_attribute(env.client, handle.id) is None
    async with db_pool.acquire() as conn:
        assert (await get_center(conn, state.center_id)).next_deadline_at is None
    details = (await handle.query("__temporal_workflow_metadata")).current_details
    assert any(f"evaluation year {year} opens" in line and "| automatic |" in line for line in details.splitlines())
    await sleep_until_local(env, date(year, 1, 1), hour=2)
    state = await until(handle, lambda s: s.deadline(f"annual_report-{year}") is not None, "year opens")
    report_due = state.deadline(f"annual_report-{year}").due_at
    assert await next_deadline_attribute(env.client, handle.id) == report_due


async def test_m7_m1_missing_report_and_evaluation_are_overdue_in_the_state_and_the_ui(centers, env):
    """Past their due dates (31 March, 30 June) the report and the evaluation stay on the agenda,
    marked overdue in the state and in the UI's current details, until they are recorded."""
    handle = await centers.start(f.profile())
    state = await designate_for_next_year(handle, env)
    year = state.designation.on.year + 1
    await sleep_until_local(env, date(year + 1, 7, 1), hour=2)
    state = await until(handle, lambda s: s.deadline(f"annual_evaluation-{year}").overdue, "evaluation overdue")
    report = state.deadline(f"annual_report-{year}")
    assert report.overdue and report.due_at == end_of_day(date(year + 1, 3, 31))
    assert report.reminders_sent == [30, 7, 1]
    details = (await handle.query("__temporal_workflow_metadata")).current_details
    overdue_rows = [line for line in details.splitlines() if "OVERDUE" in line]
    assert len(overdue_rows) == 2 and any(f"annual report {year}" in r for r in overdue_rows)
    state = await report_and_grade(handle, env, year, "合格", on=date(year + 1, 7, 3))
    assert state.operating.years[year].report_late and state.operating.grades[year] == "合格"
    assert not any(d.overdue for d in state.agenda)


async def test_m2_unqualified_then_passed_rectification(centers, env):
    handle = await centers.start(f.profile())
    state = await unqualified_then_rectified(handle, env)
    year = state.designation.on.year + 1
    assert state.phase == "designated" and state.operating.grades[year] == "不合格"
    assert state.operating.rectifications[-1].result == "passed"
    assert state.deadline(f"rectification-{year}") is None


async def test_m2_pd15_unqualified_then_delisted_on_the_bureaus_finding_after_the_year(centers, env, db_pool):
    """The rectification deadline (one year from the day the grade was recorded) survives the
    continue-as-new at the new year; PD15: a "failed" result is refused while it runs; when it ends
    nothing happens by itself (overdue for the bureau); the bureau's finding then delists, and the
    entity's ban is in the registry (PD7)."""
    profile = f.profile()
    handle = await centers.start(profile)
    state = await designate_for_next_year(handle, env)
    year = state.designation.on.year + 1
    graded_on = date(year + 1, 3, 2)
    state = await report_and_grade(handle, env, year, "不合格", on=graded_on)
    assert state.phase == "rectifying"
    rectification = period_end(graded_on, years=1, calendar=default_calendar())  # PD4, PD10
    assert state.deadline(f"rectification-{year}").due_at == rectification.due_at
    failed = {"actor": f.actor("city_bureau"), "request_id": f.rid(), "passed": False, "report_ref": "ZG-1",
              "finding": "整改后仍不合格"}
    early = await refusal(handle, "record_rectification_result", failed)
    assert (early["rule_id"], early["field"]) == ("PD15", "phase")
    await sleep_until_local(env, rectification.day + timedelta(days=1), hour=1)
    state = await until(handle, lambda s: s.deadline(f"rectification-{year}").overdue, "rectification overdue")
    assert state.phase == "rectifying" and state.bans == []
    await handle.execute_update("record_rectification_result", failed | {"request_id": f.rid()})
    final = await handle.result()
    assert final.phase == "delisted" and final.operating.rectifications[-1].result == "failed"
    delisted_on = local_date(final.ended_at)
    async with db_pool.acquire() as conn:
        bans = await active_bans(conn, BanQuery(
            implementing_entity_code=profile.implementing_entity.credit_code, lead_unit_code="none",
            field="marine_biomedicine", on=date(year + 2, 6, 1)))
    ban_end = period_end(delisted_on, years=2, calendar=default_calendar())  # PD7, PD10: settled when read
    assert [(b.rule_id, b.ends_on, b.provisional) for b in bans] == [("M2", ban_end.day, False)]


async def test_m4_pd7_two_unqualified_years_in_a_row_revoked(centers, env, db_pool):
    """Where M2 meets M4 (4): the second unqualified grade comes while the first year's
    rectification still runs (until 5 March); it revokes at once and bans the implementing entity
    and the lead unit from the same type only (PD7, docs/operating-life.md)."""
    profile = f.profile()
    handle = await centers.start(profile)
    state = await designate_for_next_year(handle, env)
    year = state.designation.on.year + 1
    state = await report_and_grade(handle, env, year, "不合格", on=date(year + 1, 3, 5))
    rectification = period_end(date(year + 1, 3, 5), years=1, calendar=default_calendar())
    assert state.deadline(f"rectification-{year}").due_at == rectification.due_at
    state = await report_and_grade(handle, env, year + 1, "不合格", on=date(year + 2, 3, 1))
    assert state.phase == "revoked" and state.operating.revocation.ground == "unqualified_two_years"
    assert state.operating.rectifications[-1].result == "superseded" and state.agenda == []
    async with db_pool.acquire() as conn:
        same_type = await active_bans(conn, BanQuery(
            implementing_entity_code="none", lead_unit_code=profile.lead_unit.credit_code,
            field=profile.field.value, on=date(year + 2, 3, 2)))
        other_type = await active_bans(conn, BanQuery(
            implementing_entity_code="none", lead_unit_code=profile.lead_unit.credit_code,
            field="ships_offshore", on=date(year + 2, 3, 2)))
        entity = await active_bans(conn, BanQuery(
            implementing_entity_code=profile.implementing_entity.credit_code, lead_unit_code="none",
            field=profile.field.value, on=date(year + 2, 3, 2)))
        entity_other_type = await active_bans(conn, BanQuery(
            implementing_entity_code=profile.implementing_entity.credit_code, lead_unit_code="none",
            field="ships_offshore", on=date(year + 2, 3, 2)))
    assert [b.rule_id for b in same_type] == ["M4"] and other_type == []
    assert [(b.rule_id, b.subject_kind) for b in entity] == [("M4", "implementing_entity")] and entity_other_type == []


async def test_pd3_m3_change_on_30_november_window_ends_last_day_of_february(centers, env):
    handle = await centers.start(f.profile())
    state = await designate_for_next_year(handle, env)
    year = state.designation.on.year + 1
    await sleep_until_local(env, date(year, 12, 1))
    await handle.execute_update("report_major_change", {
        "actor": f.actor("implementing_entity"), "request_id": f.rid(), "kind": "merger",
        "happened_on": date(year, 11, 30).isoformat(), "description": "吸收合并某公司"})
    (change,) = (await state_of(handle)).operating.major_changes
    window = period_end(date(year, 11, 30), months=3, calendar=default_calendar())  # PD3, PD10
    assert window.nominal == date(year + 1, 2, 29 if (year + 1) % 4 == 0 else 28)
    assert change.window_ends_at == window.due_at
    assert not change.late


async def test_m3_two_changes_open_at_once_one_kept_one_cancelling(centers, env):
    handle = await centers.start(f.profile())
    state = await designate_for_next_year(handle, env)
    year = state.designation.on.year + 1
    await sleep_until_local(env, date(year, 9, 1))
    for kind, day in (("restructuring", date(year, 3, 1)), ("business_change", date(year, 8, 1))):
        await handle.execute_update("report_major_change", {
            "actor": f.actor("county_department", "dinghai"), "request_id": f.rid(), "kind": kind,
            "happened_on": day.isoformat(), "description": kind})
    state = await state_of(handle)
    assert [(c.status, c.late) for c in state.operating.major_changes] == [("open", True), ("open", False)]
    first, second = state.operating.major_changes
    await handle.execute_update("record_major_change_review", {
        "actor": f.actor("city_bureau"), "request_id": f.rid(), "change_id": second.id, "still_eligible": True,
        "finding": "仍符合认定条件"})
    await handle.execute_update("record_major_change_review", {
        "actor": f.actor("city_bureau"), "request_id": f.rid(), "change_id": first.id, "still_eligible": False,
        "finding": "重组后不再独立运营"})
    final = await handle.result()
    assert final.phase == "cancelled" and final.operating.cancelled_from == date(year, 1, 1)
    assert [c.status for c in final.operating.major_changes] == ["cancelled", "kept"]
