"""Many centers over many years at once, on one time-skipping server, in lockstep.

The server has one clock for all workflows, so the centers share it: auto time skipping is off and
the driver moves the clock itself (``env.sleep``) to each window of the year, then sends that
window's actions to every center at once. No window can be missed because time ran on under a slow
driver: time only moves when the driver says so, after the previous window's answers are in.

The mix, with the real policy durations and the real activities (PostgreSQL, outbox):
- every center: designation (D3-D7, PD16), then each year the report late in March (after the
  30- and 7-day reminders, M7, PD9) and the grade on 20 June (after its reminder, M1);
- every fifth center: one unqualified year, its rectification found passed on 1 July a year later
  (M2, PD4, PD15), once the period has ended;
- every tenth center (offset 3): an advance in each of its first two years, settled in full the
  next spring (S2, PD13);
- every tenth center (offset 7): a major change in its second year, reported within the window
  and reviewed as still eligible (M3, PD3).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from models.state import CenterState
from tests.fixtures import factories as f
from tests.workflows.flows import issue_document, state_of, through_evaluation, today
from tests.workflows.scenarios import GRADES, sleep_until_local

CONCURRENT_CALLS = 50  # client calls in flight at once: enough to keep the worker busy, few enough for gRPC


@dataclass
class Center:
    index: int
    handle: Any

    @property
    def unqualified_year(self) -> int | None:
        """Index of this center's one unqualified year (every fifth center), else None."""
        return (self.index // 5) % 8 if self.index % 5 == 0 else None

    @property
    def takes_advances(self) -> bool:
        return self.index % 10 == 3

    @property
    def reports_a_major_change(self) -> bool:
        return self.index % 10 == 7


@dataclass
class Clock:
    """What the driver did: calls sent, clock steps, and how often a center was not yet caught up."""

    calls: int = 0
    steps: int = 0
    not_ready: int = 0
    windows: list[tuple[str, float]] = field(default_factory=list)


async def each(items: Iterable[Any], call: Callable[[Any], Awaitable[Any]], clock: Clock) -> list[Any]:
    """``call`` for every item at once, at most CONCURRENT_CALLS in flight."""
    gate = asyncio.Semaphore(CONCURRENT_CALLS)

    async def one(item: Any) -> Any:
        async with gate:
            clock.calls += 1
            return await call(item)

    return await asyncio.gather(*(one(i) for i in items))


async def step_to(env, day: date, clock: Clock, hour: int = 10) -> None:
    clock.steps += 1
    await sleep_until_local(env, day, hour)


async def ready(centers: list[Center], predicate: Callable[[CenterState], bool], what: str, clock: Clock) -> None:
    """Every center shows ``predicate``. After a clock step the server has fired each timer before
    it moved on, so this normally holds at once; a center that is not there yet is asked again."""
    pending = centers
    for _ in range(200):
        states = await each(pending, lambda c: state_of(c.handle), clock)
        pending = [c for c, s in zip(pending, states) if not predicate(s)]
        if not pending:
            return
        clock.not_ready += len(pending)
        await asyncio.sleep(0.05)
    raise AssertionError(f"{what}: {len(pending)} centers not there, e.g. {pending[0].handle.id}")


def bureau() -> dict:
    return f.actor("city_bureau")


async def designate_all(env, centers: list[Center], clock: Clock) -> int:
    """D3-D7, PD16 for every center on the same days; returns the first evaluated year."""
    now = await today(env)
    if (now.month, now.day) < (7, 1) or (now.month, now.day) > (12, 10):  # see designate_for_next_year
        await step_to(env, date(now.year + (now.month > 6), 7, 1), clock)
    await each(centers, lambda c: through_evaluation(c.handle), clock)
    published = await today(env)
    await each(centers, lambda c: c.handle.execute_update("publish_notice", f.notice(published)), clock)
    ends = max(s.notice.ends_at for s in await each(centers, lambda c: state_of(c.handle), clock))
    clock.steps += 1
    await env.sleep(ends - await env.get_current_time() + timedelta(minutes=1))
    await ready(centers, lambda s: s.deadline("designation-document") is not None, "document due", clock)
    await each(centers, lambda c: issue_document(c.handle, env), clock)
    states = await each(centers, lambda c: state_of(c.handle), clock)
    assert all(s.phase == "designated" for s in states), {s.phase for s in states}
    return states[0].designation.on.year + 1


async def spring(env, centers: list[Center], year: int, i: int, clock: Clock) -> None:
    """28 March of year+1: the reports of ``year``; last year's advance settled, this year's granted;
    the second year's major change (happened 1 March, inside its window)."""
    await step_to(env, date(year + 1, 3, 28), clock)
    await ready(centers, lambda s: s.deadline(f"annual_evaluation-{year}") is not None, f"year {year} open", clock)

    async def act(c: Center) -> None:
        h = c.handle
        await h.execute_update("submit_annual_report", {
            "actor": f.actor("implementing_entity"), "request_id": f.rid(), "year": year, "report_ref": f"NB-{year}"})
        if c.takes_advances and 0 < i <= 2:
            await h.execute_update("settle_subsidy", {"actor": bureau(), "request_id": f.rid(), "year": year,
                                                      "amount_due_yuan": "1000.00", "assessment_ref": "绩效评价"})
        if c.takes_advances and i < 2:
            await h.execute_update("grant_advance", {"actor": bureau(), "request_id": f.rid(), "year": year + 1,
                                                     "amount_yuan": "1000.00", "payment_ref": "拨款单"})
        if c.reports_a_major_change and i == 1:
            await h.execute_update("report_major_change", {
                "actor": f.actor("implementing_entity"), "request_id": f.rid(), "kind": "business_change",
                "happened_on": date(year + 1, 3, 1).isoformat(), "description": "变更经营范围"})

    await each(centers, act, clock)


async def summer(env, centers: list[Center], year: int, i: int, clock: Clock) -> None:
    """20 June: the grades of ``year`` (M1) and the major change's review (M3); 1 July: the results of
    last year's rectifications, the period (from the last 20 June, PD15) having ended."""
    await step_to(env, date(year + 1, 6, 20), clock)

    async def grade(c: Center) -> None:
        h = c.handle
        mark = "不合格" if c.unqualified_year == i else GRADES[(c.index + i) % len(GRADES)]
        await h.execute_update("record_annual_evaluation", {
            "actor": bureau(), "request_id": f.rid(), "year": year, "grade": mark,
            "evaluator": "浙江某第三方评估机构", "report_ref": f"PJ-{year}"})
        if c.reports_a_major_change and i == 1:
            change = (await state_of(h)).operating.major_changes[-1]
            await h.execute_update("record_major_change_review", {
                "actor": bureau(), "request_id": f.rid(), "change_id": change.id, "still_eligible": True,
                "finding": "仍符合认定条件"})

    await each(centers, grade, clock)
    rectifying = [c for c in centers if c.unqualified_year == i - 1]
    if rectifying:
        await step_to(env, date(year + 1, 7, 1), clock)
        await each(rectifying, lambda c: c.handle.execute_update("record_rectification_result", {
            "actor": bureau(), "request_id": f.rid(), "passed": True, "report_ref": "ZG-1", "finding": "整改到位"}),
            clock)


async def run_fleet(env, start: Callable[[int], Awaitable[Any]], count: int, years: int) -> tuple[list[Center], Clock]:
    """``count`` centers from designation through ``years`` graded years, all at once."""
    clock = Clock()
    with env.auto_time_skipping_disabled():
        centers = [Center(i, h) for i, h in enumerate(await each(range(count), start, clock))]
        began = time.perf_counter()
        first = await designate_all(env, centers, clock)
        clock.windows.append(("designation", time.perf_counter() - began))
        for i, year in enumerate(range(first, first + years)):
            mark = time.perf_counter()
            await spring(env, centers, year, i, clock)
            await summer(env, centers, year, i, clock)
            clock.windows.append((str(year), time.perf_counter() - mark))
        states = await each(centers, lambda c: state_of(c.handle), clock)
    check(centers, states, years)
    return centers, clock


def check(centers: list[Center], states: list[CenterState], years: int) -> None:
    """The fleet did what the mix says: no benchmark figure from a run that went astray."""
    for c, s in zip(centers, states):
        assert s.phase == "designated", (c.handle.id, s.phase)
        assert len(s.operating.grades) == years, (c.handle.id, s.operating.grades)
        if c.unqualified_year is not None and c.unqualified_year < years - 1:
            assert len(s.operating.rectifications) == 1, (c.handle.id, s.operating.rectifications)
        if c.takes_advances:
            assert len(s.subsidy.years) == min(2, years), (c.handle.id, s.subsidy.years)
        if c.reports_a_major_change and years > 1:
            assert [m.status for m in s.operating.major_changes] == ["kept"], (c.handle.id, s.operating.major_changes)
