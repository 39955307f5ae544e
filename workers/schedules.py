"""Schedules the service keeps on the Temporal server (created at worker start if missing)."""

from __future__ import annotations

import structlog
from temporalio.client import (
    Client, Schedule, ScheduleActionStartWorkflow, ScheduleAlreadyRunningError, ScheduleCalendarSpec,
    ScheduleRange, ScheduleSpec,
)

from workflows.monitoring import SCHEDULE_ID, MonitoringDigest

log = structlog.get_logger(__name__)


def monitoring_schedule(task_queue: str) -> Schedule:
    """M5: the status board on the 1st of every month, 09:00 Asia/Shanghai."""
    return Schedule(
        action=ScheduleActionStartWorkflow(MonitoringDigest.run, id=SCHEDULE_ID, task_queue=task_queue),
        spec=ScheduleSpec(
            calendars=[ScheduleCalendarSpec(day_of_month=[ScheduleRange(1)], hour=[ScheduleRange(9)])],
            time_zone_name="Asia/Shanghai",
        ),
    )


async def ensure_schedules(client: Client, task_queue: str) -> None:
    try:
        await client.create_schedule(SCHEDULE_ID, monitoring_schedule(task_queue))
        log.info("schedule created", schedule=SCHEDULE_ID)
    except ScheduleAlreadyRunningError:
        pass
