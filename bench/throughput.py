"""Throughput and staff latency against the fair ceiling, side by side on the dev server.

Lifecycle: a center started and driven through application, county review, city evaluation and the
notice's publication (4 updates), with its real activities (PostgreSQL, SMTP, calendar). No-op: a
workflow with the same start, the same updates, the same number of activities per step (counted
from a lifecycle's own history) and one timer re-armed per change, whose activities do nothing.
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


async def lifecycle(s: Stack, timings: list[float] | None = None) -> str:
    handle = await s.start_center(f.profile(f"bench-{uuid.uuid4().hex[:10]}"))
    for name, payload in payloads(date.today()):
        began = time.perf_counter()
        await handle.execute_update(name, payload)
        if timings is not None and name == "submit_application":
            timings.append(time.perf_counter() - began)
    return handle.id


async def activities_per_step(s: Stack, workflow_id: str) -> list[int]:
    """Activities scheduled at start and by each update, from the lifecycle's history."""
    counts = [0]
    async for event in s.client.get_workflow_handle(workflow_id).fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            counts.append(0)
        elif event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            counts[-1] += 1
    return counts


async def noop(s: Stack, steps: list[int], timings: list[float] | None = None) -> None:
    handle = await s.client.start_workflow("NoopLifecycle", steps[0], id=f"noop-{uuid.uuid4().hex[:10]}",
                                           task_queue=TASK_QUEUE)
    for count in steps[1:]:
        began = time.perf_counter()
        await handle.execute_update("step", count)
        if timings is not None:
            timings.append(time.perf_counter() - began)
            timings = None  # the first update only, as for the lifecycle
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
        await noop(s, steps)
        note(f"activities per step of a lifecycle (start, {', '.join(STEPS)}): {steps}")
        noop_rate = await rate(lambda: noop(s, steps), centers)
        life_rate = await rate(lambda: lifecycle(s), centers)
        noop_rate = (noop_rate + await rate(lambda: noop(s, steps), centers)) / 2  # before and after
        note(f"{centers} workflows each: lifecycle {life_rate:.2f}/s, no-op {noop_rate:.2f}/s")
        target("throughput_ratio", f"{life_rate / noop_rate:.2f}", ">= 0.7", life_rate / noop_rate >= 0.7)
        life_t: list[float] = []
        noop_t: list[float] = []
        same_t: list[float] = []  # what bounds it: a no-op update with as many activities as the action
        for _ in range(samples):  # one at a time, alternating: the same load on all three
            await lifecycle(s, life_t)
            await noop(s, [steps[0], 1], noop_t)
            await noop(s, [steps[0], steps[1]], same_t)
        note(f"update round trip, lifecycle submit_application: median {statistics.median(life_t) * 1000:.0f} ms, "
             f"p99 {p(life_t, 0.99) * 1000:.0f} ms")
        note(f"update round trip, no-op update with one no-op activity: median "
             f"{statistics.median(noop_t) * 1000:.0f} ms, p99 {p(noop_t, 0.99) * 1000:.0f} ms")
        note(f"update round trip, no-op update with {steps[1]} no-op activities (as many as submit_application "
             f"ran): median {statistics.median(same_t) * 1000:.0f} ms; lifecycle / that = "
             f"{statistics.median(life_t) / statistics.median(same_t):.1f}x")
        ratio = statistics.median(life_t) / statistics.median(noop_t)
        target("update_median_ratio", f"{ratio:.1f}x", "<= 2x", ratio <= 2)
        note(f"p99 ratio {p(life_t, 0.99) / p(noop_t, 0.99):.1f}x")
