"""Throughput and staff latency against the fair ceiling, side by side on the dev server.

Staff latency (issue 11): the round trip of every update of the scripted lifecycle against a no-op
update that runs one no-op activity (the target line `update_median_ratio`), per action too, and one
lifecycle's history update by update, which shows what each round trip waits for.

Lifecycle: a center started and driven through application, county review, city evaluation and the
notice's publication (4 updates), with its real activities (PostgreSQL, SMTP, calendar). No-op: a
workflow with the same start, the same updates, the same number of activities per step (counted
from a lifecycle's own history, all run as ordinary activities: the issue's ceiling) and one timer re-armed
per change, whose activities do nothing; a second no-op runs them local where the lifecycle's are.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from datetime import date

from temporalio.api.enums.v1 import EventType

from bench.report import note, target
from bench.stack import TASK_QUEUE, Stack, stack
from tests.fixtures import factories as f

STEPS = ("submit_application", "record_county_review", "record_city_evaluation", "publish_notice")


def payloads(today: date) -> list[tuple[str, dict]]:
    return [("submit_application", f.application()), ("record_county_review", f.county_review()),
            ("record_city_evaluation", f.city_evaluation()), ("publish_notice", f.notice(today))]


async def lifecycle(s: Stack, timings: dict[str, list[float]] | None = None) -> str:
    """One center through the scripted steps; ``timings`` collects each update's round trip by action."""
    handle = await s.start_center(f.profile(f"bench-{uuid.uuid4().hex[:10]}"))
    for name, payload in payloads(date.today()):
        began = time.perf_counter()
        await handle.execute_update(name, payload)
        if timings is not None:
            timings.setdefault(name, []).append(time.perf_counter() - began)
    return handle.id


async def activities_per_step(s: Stack, workflow_id: str) -> list[list[int]]:
    """[activities, local activities] run at start and by each update, from the lifecycle's history
    (a local activity is a marker; the no-op runs as many of each kind)."""
    counts = [[0, 0]]
    async for event in s.client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts.append([0, 0])
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts[-1][0] += 1
        elif (event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
              and event.marker_recorded_event_attributes.marker_name == "core_local_activity"):
            counts[-1][1] += 1
    return counts


async def update_profile(s: Stack, workflow_id: str) -> list[str]:
    """What each update of one lifecycle waits for: its history events from acceptance to completion,
    each with the milliseconds since the update was accepted (the profile behind the latency figure)."""
    lines: list[str] = []
    accepted = None
    events: list[str] = []
    async for event in s.client.get_workflow_handle(workflow_id).fetch_history_events():
        kind = EventType.Name(event.event_type).removeprefix("EVENT_TYPE_")
        at = event.event_time.ToDatetime()
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            accepted = at
            name = event.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
            events = [name + ":"]
        elif accepted is not None:
            detail = ""
            if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
                detail = "(" + event.activity_task_scheduled_event_attributes.activity_type.name + ")"
            elif event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
                detail = "(" + event.marker_recorded_event_attributes.marker_name + ")"
            events.append(f"{kind.lower()}{detail} +{(at - accepted).total_seconds() * 1000:.0f}")
            if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_COMPLETED:
                lines.append(" ".join(events))
                accepted = None
    return lines


async def noop(s: Stack, steps: list[list[int]], timings: list[float] | None = None) -> None:
    handle = await s.client.start_workflow("NoopLifecycle", steps[0], id=f"noop-{uuid.uuid4().hex[:10]}",
                                           task_queue=TASK_QUEUE)
    for count in steps[1:]:
        began = time.perf_counter()
        await handle.execute_update("step", count)
        if timings is not None:
            timings.append(time.perf_counter() - began)
    await handle.signal("finish")


async def rate(make, centers: int) -> float:
    began = time.perf_counter()
    await asyncio.gather(*(make() for _ in range(centers)))
    return centers / (time.perf_counter() - began)


def p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def main(centers: int = 40, samples: int = 40) -> None:
    async with stack("dev") as s:
        steps = await activities_per_step(s, await lifecycle(s))  # also warms the worker
        steps = [steps[0], *steps[1:1 + len(STEPS)]]
        # The ceiling: as many no-op activities as the lifecycle ran (ordinary ones, as in the
        # latency comparison). Also printed: a no-op whose activities are local where the lifecycle's are.
        ordinary = [[sum(step), 0] for step in steps]
        await noop(s, steps)
        note(f"[activities, local activities] per step of a lifecycle (start, {', '.join(STEPS)}): {steps}")
        noop_rate = await rate(lambda: noop(s, ordinary), centers)
        life_rate = await rate(lambda: lifecycle(s), centers)
        noop_rate = (noop_rate + await rate(lambda: noop(s, ordinary), centers)) / 2  # before and after
        same_rate = await rate(lambda: noop(s, steps), centers)
        note(f"{centers} workflows each: lifecycle {life_rate:.2f}/s, no-op {noop_rate:.2f}/s "
             f"(as many no-op activities, ordinary ones)")
        target("throughput_ratio", f"{life_rate / noop_rate:.2f}", ">= 0.7", life_rate / noop_rate >= 0.7)
        note(f"against a no-op whose activities are local where the lifecycle's are ({same_rate:.2f}/s): "
             f"{life_rate / same_rate:.2f}; that gap is the lifecycle's own work (PostgreSQL writes, state, mail)")
        await latency(s, steps, samples)


def ms(values: list[float], q: float | None = None) -> str:
    return f"{(statistics.median(values) if q is None else p(values, q)) * 1000:.0f} ms"


async def latency(s: Stack, steps: list[list[int]], samples: int) -> None:
    """Staff latency as issue 11 defines it: every update of the scripted lifecycle (application,
    county review, city evaluation, notice) against a no-op update that runs ONE no-op activity."""
    life: dict[str, list[float]] = {}
    noop_t: list[float] = []
    for _ in range(samples):  # one at a time, alternating: the same load on both
        await lifecycle(s, life)
        await noop(s, [steps[0], *[[1, 0]] * len(STEPS)], noop_t)  # as many updates
    every = [t for name in STEPS for t in life[name]]
    note("one lifecycle's history, update by update (event +ms since the update was accepted):")
    for line in await update_profile(s, await lifecycle(s)):
        note("  " + line)
    note(f"no-op update with one no-op activity: median {ms(noop_t)}, p99 {ms(noop_t, 0.99)} ({len(noop_t)} updates)")
    for name, count in zip(STEPS, steps[1:]):
        ratio = statistics.median(life[name]) / statistics.median(noop_t)
        note(f"{name} ({count[0]} activities, {count[1]} local, in its history): median {ms(life[name])} = {ratio:.1f}x, "
             f"p99 {ms(life[name], 0.99)}")
    note(f"every update of the lifecycle ({len(every)} round trips): median {ms(every)}, p99 {ms(every, 0.99)}")
    note("the target line below is update_median_ratio: every update of the lifecycle / the one-activity no-op")
    ratio = statistics.median(every) / statistics.median(noop_t)
    target("update_median_ratio", f"{ratio:.1f}x", "<= 2x", ratio <= 2)
    note(f"update_p99_ratio: {p(every, 0.99) / p(noop_t, 0.99):.1f}x (every update, p99 against p99)")
    submit = statistics.median(life["submit_application"]) / statistics.median(noop_t)
    note(f"submit_application alone (the figure before): {submit:.1f}x, p99 "
         f"{p(life['submit_application'], 0.99) / p(noop_t, 0.99):.1f}x")
    first = noop_t[::len(STEPS)]  # each no-op's first update: like submit_application, on a fresh workflow
    note(f"submit_application against the no-op's first update (both the first on a fresh workflow, "
         f"{ms(first)}): {statistics.median(life['submit_application']) / statistics.median(first):.1f}x")
