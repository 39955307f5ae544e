"""Schedules the service keeps on the Temporal server: created at worker start, or brought up to date.

A schedule outlives the code that made it, so "create if missing" would keep an old spec forever: the
worker compares what the server holds with what the code says and updates the schedule when they
differ (spec, action, policies). A paused schedule stays paused: that is an operator's decision.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

import structlog
from temporalio.client import (
    Client, Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError, ScheduleCalendarSpec,
    SchedulePolicy, ScheduleOverlapPolicy, ScheduleRange, ScheduleSpec, ScheduleUpdate, ScheduleUpdateInput,
)

from workflows.monitoring import SCHEDULE_ID, MonitoringDigest

log = structlog.get_logger(__name__)

# M5: a digest missed while the cluster was down is still worth sending within a week (the board is
# read when it runs, so a late digest is current); older than that, the next month's replaces it.
DIGEST_CATCHUP = timedelta(days=7)


def monitoring_schedule(task_queue: str) -> Schedule:
    """M5: the status board on the 1st of every month, 09:00 Asia/Shanghai."""
    return Schedule(
        action=ScheduleActionStartWorkflow(MonitoringDigest.run, id=SCHEDULE_ID, task_queue=task_queue),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(day_of_month=[ScheduleRange(1)], hour=[ScheduleRange(9)])],
            time_zone_name="Asia/Shanghai",
        ),
        # SKIP: one digest at a time; a second one while the first still runs would mail the board twice.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP, catchup_window=DIGEST_CATCHUP),
    )


def _ranges(ranges: Sequence[ScheduleRange]) -> tuple[tuple[int, int, int], ...]:
    """The server answers ScheduleRange(1) as ScheduleRange(1, 1, 1): compare what they mean."""
    return tuple((r.start, max(r.end, r.start), r.step or 1) for r in ranges)


def _shape(schedule: Schedule) -> tuple[object, ...]:
    """What we own of a schedule, comparable between the server's copy and ours."""
    action = schedule.action
    assert isinstance(action, ScheduleActionStartWorkflow)
    spec = schedule.spec
    return (
        tuple(tuple(_ranges(getattr(c, part)) for part in
                    ("second", "minute", "hour", "day_of_month", "month", "year", "day_of_week"))
              for c in spec.calendars),
        tuple((i.every, i.offset) for i in spec.intervals), tuple(spec.cron_expressions), spec.time_zone_name,
        action.workflow, action.id, action.task_queue,
        schedule.policy.overlap, schedule.policy.catchup_window, schedule.policy.pause_on_failure,
    )


async def ensure_schedule(client: Client, schedule_id: str, wanted: Schedule) -> str:
    """Create the schedule, or update it if the server's differs; return created/updated/unchanged."""
    try:
        await client.create_schedule(schedule_id, wanted)
        log.info("schedule created", schedule=schedule_id)
        return "created"
    except ScheduleAlreadyRunningError:
        pass
    handle = client.get_schedule_handle(schedule_id)
    current = (await handle.describe()).schedule
    if _shape(current) == _shape(wanted):
        return "unchanged"

    def update(given: ScheduleUpdateInput) -> ScheduleUpdate:
        # Keep the server's state (paused, notes, remaining actions): only spec, action and policy are ours.
        return ScheduleUpdate(schedule=Schedule(
            action=wanted.action, spec=wanted.spec, policy=wanted.policy, state=given.description.schedule.state,
        ))

    await handle.update(update)
    log.info("schedule updated", schedule=schedule_id)
    return "updated"


async def ensure_schedules(client: Client, task_queue: str) -> None:
    await ensure_schedule(client, SCHEDULE_ID, monitoring_schedule(task_queue))
