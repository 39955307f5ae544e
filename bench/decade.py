"""History size and simulation time of a ten-year lifecycle, on the time-skipping server.

The scenario is tests/workflows/scenarios.py ``ten_year_lifecycle`` (designation, yearly reports and
grades, an unqualified year and its rectification, money), with the real policy durations.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC

from bench.report import note, target
from bench.stack import stack
from rules.calendar import local_date
from tests.fixtures import factories as f
from tests.fixtures.temporal import chain_histories
from tests.workflows.scenarios import ten_year_lifecycle
from tests.workflows.test_operating import MAX_EVENTS_PER_RUN

EVENTS_PER_CENTER_YEAR = 100


async def main(centers: int = 1) -> None:
    """``centers`` decades one after another, each on a fresh time-skipping server (its clock only
    moves forward, and the notice of the next center must fall in the working-day data)."""
    walls = []
    for _ in range(centers):
        async with stack("skip") as s:
            assert s.env is not None
            handle = await s.start_center(f.profile(f"bench-{uuid.uuid4().hex[:6]}"))
            began = time.perf_counter()
            state = await ten_year_lifecycle(handle, s.env)
            walls.append(time.perf_counter() - began)
            histories = await chain_histories(s.client, handle.id, handle.result_run_id)
    report(histories, state)
    per_decade = sum(walls) / len(walls)
    note(f"wall time per center-decade: {', '.join(f'{w:.1f} s' for w in walls)}")
    target("decade_wall_per_center", f"{per_decade:.1f} s", "< 2 s", per_decade < 2)


def report(histories: list, state) -> None:
    counts = [len(h.events) for h in histories]
    sizes = [h.to_json().encode().__len__() for h in histories]
    starts = [local_date(h.events[0].event_time.ToDatetime(tzinfo=UTC)) for h in histories]
    started = histories[0].events[0].event_time.ToDatetime(tzinfo=UTC)
    ended = histories[-1].events[-1].event_time.ToDatetime(tzinfo=UTC)
    years = (ended - started).days / 365.25
    note(f"ten-year lifecycle: designated {state.designation.on}, {len(state.operating.grades)} yearly grades, "
         f"{len(state.operating.rectifications)} rectification, {years:.1f} years, {len(counts)} runs")
    for day, count, size in zip(starts, counts, sizes):
        note(f"  run from {day}: {count:5d} events, {size / 1024:7.1f} KiB")
    total = sum(counts)
    note(f"total {total} events, {sum(sizes) / 1024:.0f} KiB, {sum(sizes) / years / 1024:.0f} KiB per center-year")
    target("history_events_per_center_year", f"{total / years:.0f}", f"<= {EVENTS_PER_CENTER_YEAR}",
           total / years <= EVENTS_PER_CENTER_YEAR)
    target("history_largest_run_events", f"{max(counts)}", f"<= {MAX_EVENTS_PER_RUN}", max(counts) <= MAX_EVENTS_PER_RUN)
