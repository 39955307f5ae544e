"""M5: read the status board (the `centers` table) and the staff mailboxes for the monthly digest."""

from __future__ import annotations

import json

import asyncpg
from pydantic import BaseModel
from temporalio import activity

from models.directory import offices_file
from models.effects import CenterSnapshot


class StatusBoard(BaseModel):
    centers: list[CenterSnapshot]
    city_email: str
    county_emails: dict[str, str]


class MonitoringActivities:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="load_status_board")
    async def load_status_board(self) -> StatusBoard:
        async with self._pool.acquire() as conn:
            rows = await conn.fetch(
                "SELECT center_id, revision, name, county, field, route, phase, credit_code, lead_unit, "
                "designated_on, last_grade, next_deadline_at, updated_at, opened_at FROM centers"
            )
        offices = json.loads(offices_file().read_text(encoding="utf-8"))
        return StatusBoard(
            centers=[CenterSnapshot.model_validate(dict(r)) for r in rows],
            city_email=offices["city_bureau_email"],
            county_emails=offices["county_department_emails"],
        )
