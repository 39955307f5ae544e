"""M5: read the status board (the `centers` table), the staff mailboxes and the calendar's reach (PD2)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path

import asyncpg
import structlog
from pydantic import BaseModel, Field
from temporalio import activity

from activities.errors import permanent_database_errors_fail_fast
from db.mailer import undelivered_mail
from db.outcomes import list_centers
from models.offices import offices_file
from models.mail import UndeliveredMail
from models.effects import CenterSnapshot
from rules.calendar import default_coverage, local_date

log = structlog.get_logger(__name__)


class StatusBoard(BaseModel):
    centers: list[CenterSnapshot]
    city_email: str
    county_emails: dict[str, str]
    # Defaults keep boards recorded before PD2 coverage was reported readable on replay.
    calendar_covered_through: date | None = Field(None, description="PD2: last day the working-day data covers")
    calendar_problem: str | None = Field(None, description="PD2: why the override data could not be read")
    undelivered: list[UndeliveredMail] = Field(default_factory=list, description="Outbox rows not delivered")


class MonitoringActivities:
    def __init__(self, pool: asyncpg.Pool, offices: Path | None = None) -> None:
        self._pool = pool
        self._offices = offices  # Settings.centers_offices_file; None: the packaged directory

    @activity.defn(name="load_status_board")
    @permanent_database_errors_fail_fast
    async def load_status_board(self) -> StatusBoard:
        async with self._pool.acquire() as conn:
            centers = await list_centers(conn)
            undelivered = await undelivered_mail(conn)
        offices = json.loads(offices_file(self._offices).read_text(encoding="utf-8"))
        covered_through, problem = default_coverage(local_date(datetime.now(UTC)))
        if problem:
            log.error("calendar_overrides_invalid", error=problem)
        return StatusBoard(
            calendar_covered_through=covered_through, calendar_problem=problem,
            centers=centers, undelivered=undelivered,
            city_email=offices["city_bureau_email"],
            county_emails=offices["county_department_emails"],
        )
