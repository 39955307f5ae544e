"""Service gauges on the worker's Prometheus endpoint, next to the SDK's `temporal_*` series.

- centers_outbox_unsent, centers_outbox_oldest_unsent_age_seconds: mail the outbox still has to send
  (PD9: delivery never gates a lifecycle, so a stuck relay shows here, not as a stuck workflow);
- centers_outbox_failed: mail failed for good (every recipient refused it), for staff to look at;
- centers_calendar_days_left: days of PRC working-day data left (PD2: add next year's table in time).

Read every minute by each worker; every replica reports the same database, so alert on max().
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import structlog
from temporalio.runtime import Runtime

from db.mailer import outbox_backlog
from rules.calendar import default_coverage, local_date

log = structlog.get_logger(__name__)

EVERY_SECONDS = 60.0


async def read_outbox(pool: object) -> tuple[int, float, int]:
    """(rows still to send, age in seconds of the oldest of them (0 when none), rows failed for good)."""
    async with pool.acquire() as conn:  # type: ignore[attr-defined]
        return await outbox_backlog(conn)


def calendar_days_left(now: datetime) -> int:
    today = local_date(now)
    covered_through, problem = default_coverage(today)
    return -1 if problem else (covered_through - today).days  # -1: the override data is invalid


async def publish_forever(runtime: Runtime, pool: object, every: float = EVERY_SECONDS) -> None:
    meter = runtime.metric_meter
    unsent = meter.create_gauge("centers_outbox_unsent", "Outbox rows not yet accepted by the SMTP server")
    age = meter.create_gauge_float("centers_outbox_oldest_unsent_age_seconds",
                                   "Age of the oldest unsent outbox row (PD9)", "s")
    failed = meter.create_gauge("centers_outbox_failed", "Outbox rows failed for good (refused permanently)")
    days = meter.create_gauge("centers_calendar_days_left",
                              "Days of working-day calendar data left (PD2); -1: the override data is invalid", "d")
    while True:
        try:
            count, oldest, given_up = await read_outbox(pool)
            unsent.set(count)
            age.set(oldest)
            failed.set(given_up)
            days.set(calendar_days_left(datetime.now(UTC)))
        except Exception as err:  # a gauge must never stop the worker; the next round tries again
            log.warning("gauges not updated", error=f"{type(err).__name__}: {err}")
        await asyncio.sleep(every)
