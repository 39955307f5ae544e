"""Operating-life scenarios on the time-skipping server, reused by tests, the history recorder
and the benchmark (bench/history_events.py)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from models.state import CenterState
from rules.calendar import SHANGHAI, local_date
from tests.fixtures import factories as f
from tests.workflows.flows import designate, state_of, until

GRADES = ["优秀", "良好", "合格"]


async def sleep_until_local(env, day: date, hour: int = 10) -> None:
    """Skip time to ``hour`` o'clock of ``day`` in Zhoushan."""
    target = datetime.combine(day, time(hour), SHANGHAI)
    await env.sleep(target - await env.get_current_time())


async def report_and_grade(handle, env, year: int, grade: str, on: date | None = None,
                           graded_on: date | None = None) -> CenterState:
    """M7 then M1 for ``year``: the report on ``on`` (default 2 March of the next year, before the
    policy's due dates), the grade the same day or on ``graded_on``."""
    await sleep_until_local(env, on or date(year + 1, 3, 2))
    await until(handle, lambda s: s.deadline(f"annual_evaluation-{year}") is not None, f"year {year} open")
    await handle.execute_update("submit_annual_report", {
        "actor": f.actor("implementing_entity"), "request_id": f.rid(), "year": year, "report_ref": f"NB-{year}"})
    if graded_on is not None:
        await sleep_until_local(env, graded_on)
    await handle.execute_update("record_annual_evaluation", {
        "actor": f.actor("city_bureau"), "request_id": f.rid(), "year": year, "grade": grade,
        "evaluator": "浙江某第三方评估机构", "report_ref": f"PJ-{year}"})
    return await state_of(handle)


async def pass_rectification(handle, env, on: date) -> CenterState:
    """M2, PD4: the bureau records a passed rectification on ``on``."""
    await sleep_until_local(env, on)
    await handle.execute_update("record_rectification_result", {
        "actor": f.actor("city_bureau"), "request_id": f.rid(), "passed": True, "report_ref": "ZG-1",
        "finding": "整改到位"})
    return await state_of(handle)


async def designate_for_next_year(handle, env) -> CenterState:
    """D3-D7, designated between 1 July and late December, so the first evaluated year is the next
    one (M1, ``Policy.first_year_cutoff``) whatever day the suite runs: if today is before July,
    time first skips to 1 July; if it is after 10 December, to 1 July of the next year."""
    today = local_date(await env.get_current_time())
    if (today.month, today.day) < (7, 1):
        await sleep_until_local(env, date(today.year, 7, 1))
    elif (today.month, today.day) > (12, 10):
        await sleep_until_local(env, date(today.year + 1, 7, 1))
    state = await designate(handle, env)
    assert state.designation is not None and state.designation.on.month >= 7, state.designation
    return state


TEN_YEAR_UNQUALIFIED_YEAR = 4  # index of the one unqualified year in the ten-year scenario


async def ten_year_lifecycle(handle, env) -> CenterState:
    """A center designated in the second half of a year (first evaluated year the next), graded for ten years.

    A representative decade: each year the report comes late in March (after the 30- and 7-day
    reminders, M7, PD9), the grade in late June (after the 30-day reminder, M1); the fifth year is
    unqualified and its rectification is found passed on 1 July a year later, once the period has
    ended (M2, PD4, PD15). The workflow continues-as-new at
    every new year, so the chain holds one run per year (plus the designation run)."""
    state = await designate_for_next_year(handle, env)
    first = state.designation.on.year + 1
    rectifying = False
    for i, year in enumerate(range(first, first + 10)):
        unqualified = i == TEN_YEAR_UNQUALIFIED_YEAR
        state = await report_and_grade(handle, env, year, "不合格" if unqualified else GRADES[i % len(GRADES)],
                                       on=date(year + 1, 3, 28), graded_on=date(year + 1, 6, 20))
        if rectifying:  # PD15: the result once the year of rectification (from the last 20 June) has ended
            state = await pass_rectification(handle, env, date(year + 1, 7, 1))
        rectifying = unqualified
    return state


async def unqualified_then_rectified(handle, env) -> CenterState:
    """M2, PD15: unqualified, then, once the rectification period has ended, it is found passed."""
    state = await designate_for_next_year(handle, env)
    year = state.designation.on.year + 1
    state = await report_and_grade(handle, env, year, "不合格")
    await env.sleep(state.operating.rectifications[-1].due_at - await env.get_current_time() + timedelta(hours=1))
    await handle.execute_update("record_rectification_result", {
        "actor": f.actor("city_bureau"), "request_id": f.rid(), "passed": True, "report_ref": "ZG-1",
        "finding": "整改到位"})
    return await state_of(handle)


def signed_in(payload: dict, user_id: str) -> dict:
    """The payload as the portal sends it: the actor carries the signed-in user's stable id."""
    return {**payload, "actor": {**payload["actor"], "user_id": user_id}}


async def signed_in_designation(handle, env) -> CenterState:
    """D3-D7 sent by signed-in users (portal): audit rows carry user ids (patch portal-audit-user-id)."""
    from datetime import timedelta

    from tests.workflows.flows import today

    await handle.execute_update("submit_application", signed_in(f.application(), "u-contact"))
    await handle.execute_update("record_county_review", signed_in(f.county_review(), "u-dinghai"))
    await handle.execute_update("record_city_evaluation", signed_in(f.city_evaluation(), "u-bureau"))
    await handle.execute_update("publish_notice", signed_in(f.notice(await today(env)), "u-bureau"))
    state = await state_of(handle)
    await env.sleep(state.notice.ends_at - await env.get_current_time() + timedelta(minutes=1))
    state = await state_of(handle)
    assert state.phase == "public_notice" and state.deadline("designation-document") is not None  # PD16
    document = f.designation_document(await today(env))
    await handle.execute_update("issue_designation", signed_in(document, "u-bureau"))
    state = await state_of(handle)
    assert state.phase == "designated", state.phase
    return state
