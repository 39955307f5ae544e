"""PD10 and PD7 end to end on the time-skipping server with the real policy durations, real
PostgreSQL and SMTP: period ends moved over rest days, provisional ends settled when the data for
their year is added, held (never fired on a guess) while it is missing, and revocation bars.

The server starts at today's date, so each test picks its dates from the calendar in force (the
session's made-up Monday-Friday years, or the tables it writes itself) instead of fixed days.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError

from db.outcomes import list_audit
from rules.calendar import default_calendar, end_of_day, legal_last_day, local_date, period_end
from tests.fixtures import factories as f
from tests.fixtures.calendar import made_up_year_table, shipped_end
from tests.workflows.flows import designate, state_of, today, until
from tests.workflows.scenarios import designate_for_next_year, report_and_grade, sleep_until_local


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    """A database of this test's own: advances count against the city's yearly cap (PD6)."""
    return fresh_db_pool


def rest_day(d: date) -> bool:
    return not default_calendar().is_working_day(d)


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


async def refusal(handle, action: str, payload: dict) -> dict[str, str]:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(action, payload)
    return info.value.cause.details[0]


# -- M3/PD3: the 3-month window ------------------------------------------------------------------


async def test_pd10_three_month_window_ending_on_a_sunday_moves_to_monday(centers, env):
    """A change whose 3-month window nominally ends on a Sunday: a report on the Monday is on time."""
    handle = await centers.start(f.profile())
    state = await designate(handle, env)
    happened = state.designation.on
    while not (period_end(happened, months=3).nominal.weekday() == 6
               and rest_day(period_end(happened, months=3).nominal)):
        happened += timedelta(days=1)
    window = period_end(happened, months=3, calendar=default_calendar())
    assert window.moved and window.last_day > window.nominal
    await sleep_until_local(env, window.last_day)
    await handle.execute_update("report_major_change", {
        "actor": f.actor("implementing_entity"), "request_id": f.rid(), "kind": "merger",
        "happened_on": happened.isoformat(), "description": "吸收合并某公司"})
    (change,) = (await state_of(handle)).operating.major_changes
    assert change.window_ends_at == end_of_day(window.last_day) and not change.late
    assert change.window_nominal_ends_at == end_of_day(window.nominal)


# -- M2/PD4: the rectification year ---------------------------------------------------------------


async def test_pd10_rectification_year_ending_on_a_rest_day_runs_to_the_next_working_day(centers, env, smtp_server):
    """The rectification deadline does not fall due at the nominal end (a rest day) but at 24:00 of
    the next working day; the people who act are told the moved day."""
    profile = f.profile()
    handle = await centers.start(profile)
    state = await designate_for_next_year(handle, env)
    year = state.designation.on.year + 1
    graded_on = date(year + 1, 3, 2)
    while not rest_day(period_end(graded_on, years=1).nominal):
        graded_on += timedelta(days=1)
    end = period_end(graded_on, years=1, calendar=default_calendar())
    state = await report_and_grade(handle, env, year, "不合格", on=graded_on)
    deadline = state.deadline(f"rectification-{year}")
    assert (deadline.due_at, deadline.nominal_due_at, deadline.provisional) == \
        (end_of_day(end.last_day), end_of_day(end.nominal), False)
    assert state.operating.rectifications[-1].due_at == deadline.due_at
    moved = await smtp_server.wait_for(
        lambda m: profile.center_id in text_of(m) and "Period end moved" in str(m["Subject"]))
    assert str(end.last_day) in text_of(moved) and str(end.nominal) in text_of(moved)

    await sleep_until_local(env, end.nominal + timedelta(days=1), hour=2)  # past the nominal end
    state = await state_of(handle)
    assert state.phase == "rectifying" and not state.deadline(f"rectification-{year}").overdue
    await sleep_until_local(env, end.last_day + timedelta(days=1), hour=2)  # past the legal end
    state = await until(handle, lambda s: s.phase != "rectifying" or s.deadline(f"rectification-{year}").overdue,
                        "rectification period ended")
    assert state.phase in ("delisted", "rectifying")  # delisted (M2), or overdue for the bureau's finding (PD15)


# -- provisional ends: settled when the data comes, held while it is missing ------------------------


@pytest.fixture
def calendar_years(env_overrides) -> Callable[..., str]:
    """``calendar_years(last, extra="")``: the shipped data, made-up years through ``last``, and ``extra``
    tables; the default calendar is reloaded, as a worker restart after the yearly PD2 chore does."""

    def use(last: int, extra: str = "") -> str:
        years = range(shipped_end().year + 1, last + 1)
        return env_overrides("".join(made_up_year_table(y) for y in years) + extra)

    return use


def bureau() -> dict[str, Any]:
    return f.actor("city_bureau", name="张华")


async def grant_first_advance(handle, env) -> date:
    first_day = await today(env)
    await handle.execute_update("grant_advance", {"actor": bureau(), "request_id": f.rid(), "year": first_day.year,
                                                  "amount_yuan": "500000", "payment_ref": "舟科拨〔2026〕9号"})
    return first_day


async def test_pd10_provisional_deadline_settles_when_override_data_for_its_year_is_added(centers, env, calendar_years,
                                                                                        db_pool):
    """S3 ends 2 years ahead, in a year without data: provisional at its nominal end (state, UI details).
    The bureau adds that year, in which the nominal end is a holiday; the worker's calendar_updated
    signal settles it to the next working day, in the state and the audit log."""
    start = await today(env)
    lacking = start.year + 2
    calendar_years(lacking - 1)
    profile = f.profile()
    handle = await centers.start(profile)
    first_day = await grant_first_advance(handle, env)
    nominal = period_end(first_day, years=2).nominal
    state = await state_of(handle)
    deadline = state.deadline("s3-designation")
    assert deadline.provisional and deadline.due_at == end_of_day(nominal) == deadline.nominal_due_at
    details = (await handle.query("__temporal_workflow_metadata")).current_details
    assert "provisional" in details

    calendar_years(lacking - 1, f'[{lacking}]\nsource = "TEST FIXTURE"\nholidays = [{nominal.isoformat()}]\n')
    legal = legal_last_day(nominal, default_calendar())
    assert legal > nominal
    await handle.signal("calendar_updated", {"years": [lacking]})
    state = await until(handle, lambda s: not s.deadline("s3-designation").provisional, "S3 end settled")
    deadline = state.deadline("s3-designation")
    assert (deadline.due_at, deadline.nominal_due_at) == (end_of_day(legal), end_of_day(nominal))
    assert state.subsidy.s3_deadline_at == deadline.due_at
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
    assert any(a.action == "pd10:period_ends" and str(legal) in a.summary for a in audit)


async def test_pd10_provisional_deadline_is_held_with_an_alert_while_the_data_is_missing(centers, env, calendar_years,
                                                                                       smtp_server, db_pool):
    """At its nominal end the S3 deadline's year still has no data: it does not fire, the bureau is
    alerted, and it waits. The data is added; the daily re-check settles it and it falls due."""
    start = await today(env)
    lacking = start.year + 2
    calendar_years(lacking - 1)
    profile = f.profile()
    handle = await centers.start(profile)
    first_day = await grant_first_advance(handle, env)
    nominal = period_end(first_day, years=2).nominal
    await env.sleep(end_of_day(nominal) + timedelta(hours=1) - await env.get_current_time())
    state = await until(handle, lambda s: s.deadline("s3-designation").held_since is not None, "S3 held")
    assert not state.subsidy.s3_lapsed and state.deadline("s3-designation").provisional
    alert = await smtp_server.wait_for(lambda m: profile.center_id in text_of(m) and "Deadline held" in str(m["Subject"]))
    assert str(nominal) in text_of(alert) and str(lacking) in text_of(alert)
    assert [str(a) for a in alert.get_all("To")] == [str(state.offices.city_bureau_email)]

    await env.sleep(timedelta(days=3))  # still missing: still held, re-checked daily
    state = await state_of(handle)
    assert not state.subsidy.s3_lapsed and state.deadline("s3-designation").held_since is not None

    calendar_years(lacking)  # the data arrives (a made-up year: the nominal day is whatever it is)
    await env.sleep(timedelta(days=1, hours=1))
    state = await until(handle, lambda s: s.subsidy.s3_lapsed, "S3 lapsed after the data arrived")
    assert state.deadline("s3-designation") is None and local_date(state.subsidy.s3_lapsed_at) > nominal


# -- PD7: revocation bars the implementing entity and the lead unit from the same field -------------


async def test_pd7_revocation_bars_the_implementing_entity_for_the_same_field_and_the_lead_unit(centers, env):
    revoked = f.profile()
    handle = await centers.start(revoked)
    await designate(handle, env)
    await handle.execute_update("revoke", {"actor": bureau(), "request_id": f.rid(), "ground": "research_misconduct",
                                           "evidence": "科研失信认定书 2026-3"})
    state = await until(handle, lambda s: s.phase == "revoked", "revoked")
    revoked_on = local_date(state.ended_at)
    ends = period_end(revoked_on, years=2, calendar=default_calendar())  # PD10
    assert [(b.subject_kind, b.scope, b.field) for b in state.bans] == [
        ("implementing_entity", "same_type", revoked.field.value), ("lead_unit", "same_type", revoked.field.value)]
    await env.sleep(timedelta(days=30))

    entity = revoked.implementing_entity.model_dump()
    same_field = await centers.start(f.profile(implementing_entity=entity))
    refused = await refusal(same_field, "submit_application", f.application())
    assert (refused["rule_id"], refused["field"]) == ("PD7", "implementing_entity.credit_code")
    assert str(ends.day) in refused["message"] and revoked.implementing_entity.name in refused["message"]

    other_field = await centers.start(f.profile(implementing_entity=entity, field="ships_offshore"))
    accepted = await other_field.execute_update("submit_application", f.application())
    assert accepted["phase"] == "county_review"

    lead = await centers.start(f.profile(lead_unit=revoked.lead_unit.model_dump()))
    refused = await refusal(lead, "submit_application", f.application())
    assert (refused["rule_id"], refused["field"]) == ("PD7", "lead_unit.credit_code") and str(ends.day) in refused["message"]
