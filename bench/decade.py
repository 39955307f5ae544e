"""History size and simulation time of ten-year lifecycles, on the time-skipping server.

One center: tests/workflows/scenarios.py ``ten_year_lifecycle`` (designation, yearly reports and
grades, an unqualified year and its rectification). A fleet: bench/fleet.py, many centers at once on
one server in lockstep (reports, grades, rectifications, advances and settlements, a major change).
Both with the real policy durations and the real activities.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC

from bench.fleet import each, run_fleet
from bench.report import note, target
from bench.stack import stack
from rules.calendar import local_date
from tests.fixtures import factories as f
from tests.fixtures.temporal import chain_histories
from tests.workflows.scenarios import ten_year_lifecycle
from tests.workflows.test_operating import MAX_EVENTS_PER_RUN

EVENTS_PER_CENTER_YEAR = 100
WALL_PER_CENTER_DECADE = 2.0  # seconds


async def main(centers: int = 1, fleet: int = 200, fleet_years: int = 10) -> None:
    alone = await one_after_another(centers)
    together = await at_once(fleet, fleet_years)
    note(f"per center-decade, side by side: {alone:.2f} s alone (latency: one activity or timer at a time), "
         f"{together:.2f} s as one of {fleet} at once (throughput of one worker process): {together / alone:.2f}x")


async def one_after_another(centers: int) -> float:
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
    target("decade_wall_per_center", f"{per_decade:.1f} s", f"< {WALL_PER_CENTER_DECADE:g} s",
           per_decade < WALL_PER_CENTER_DECADE)
    return per_decade


async def at_once(count: int, years: int) -> float:
    """``count`` centers over ``years`` years together on one time-skipping server (bench/fleet.py)."""
    async with stack("skip", max_cached_workflows=max(1000, 2 * count)) as s:
        assert s.env is not None
        tag = uuid.uuid4().hex[:4]
        began = time.perf_counter()
        centers, clock = await run_fleet(
            s.env, lambda i: s.start_center(f.profile(f"fleet-{tag}-{i:04d}")), count, years)
        wall = time.perf_counter() - began
        chains = await each(centers, lambda c: chain_histories(s.client, c.handle.id, c.handle.result_run_id), clock)
    runs = [len(h.events) for chain in chains for h in chain]
    span = [years_covered(chain) for chain in chains]
    per_center_year = sum(runs) / sum(span)
    per_decade = wall / count * 10 / years
    note(f"{count} centers x {years} years at once: total wall {wall:.1f} s, {clock.steps} clock steps, "
         f"{clock.calls} client calls, {clock.not_ready} queries found a center not yet caught up")
    note("wall per window: " + ", ".join(f"{name} {secs:.1f} s" for name, secs in clock.windows))
    note(f"history: {per_center_year:.0f} events per center-year ({sum(runs)} events, {len(runs)} runs), "
         f"largest run {max(runs)} events")
    target(f"decade_{count}_wall_per_center" if count != 200 else "decade_200_wall_per_center",
           f"{per_decade:.3f} s", f"< {WALL_PER_CENTER_DECADE:g} s", per_decade < WALL_PER_CENTER_DECADE)
    return per_decade


def years_covered(histories: list) -> float:
    started = histories[0].events[0].event_time.ToDatetime(tzinfo=UTC)
    ended = histories[-1].events[-1].event_time.ToDatetime(tzinfo=UTC)
    return (ended - started).days / 365.25


def report(histories: list, state) -> None:
    counts = [len(h.events) for h in histories]
    sizes = [h.to_json().encode().__len__() for h in histories]
    starts = [local_date(h.events[0].event_time.ToDatetime(tzinfo=UTC)) for h in histories]
    years = years_covered(histories)
    note(f"ten-year lifecycle: designated {state.designation.on}, {len(state.operating.grades)} yearly grades, "
         f"{len(state.operating.rectifications)} rectification, {years:.1f} years, {len(counts)} runs")
    for day, count, size in zip(starts, counts, sizes):
        note(f"  run from {day}: {count:5d} events, {size / 1024:7.1f} KiB")
    total = sum(counts)
    note(f"total {total} events, {sum(sizes) / 1024:.0f} KiB, {sum(sizes) / years / 1024:.0f} KiB per center-year")
    target("history_events_per_center_year", f"{total / years:.0f}", f"<= {EVENTS_PER_CENTER_YEAR}",
           total / years <= EVENTS_PER_CENTER_YEAR)
    target("history_largest_run_events", f"{max(counts)}", f"<= {MAX_EVENTS_PER_RUN}", max(counts) <= MAX_EVENTS_PER_RUN)
