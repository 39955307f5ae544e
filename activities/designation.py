"""Designation activities (PD16): the uniqueness of a center's official name needs the database."""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity

from activities.errors import permanent_database_errors_fail_fast
from db.designation import live_centers_named
from models.designation_actions import NameQuery

log = structlog.get_logger(__name__)


class DesignationActivities:
    """Holds the pool; its methods are registered on the worker."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="find_live_centers_named")
    @permanent_database_errors_fail_fast
    async def find_live_centers_named(self, query: NameQuery) -> list[str]:
        """PD16: the live centers (other than the asking one) that already carry ``query.name``."""
        async with self._pool.acquire() as conn:
            found = await live_centers_named(conn, query.name, query.center_id)
        log.info("designation_name_checked", center_id=query.center_id, name=query.name, taken_by=found)
        return found
