"""PD10: tell running lifecycles, once, that the working-day data covers new years.

The yearly PD2 chore ends with a worker restart. The first worker that starts with data for a year
nobody announced yet claims that year in PostgreSQL (``calendar_announcements``) and sends every
running ``CenterLifecycle`` one ``calendar_updated`` signal naming the new years; a lifecycle with
a provisional period end in one of them settles it (workflows/lifecycle.py). Nothing scans the
lifecycles on a schedule: a held deadline also re-checks itself daily, and every run re-checks
at its start (continue-as-new each new year), so a missed signal only delays a settlement.
"""

from __future__ import annotations

from datetime import date

import asyncpg
import structlog
from temporalio.client import Client
from temporalio.service import RPCError

from db.outcomes import claim_calendar_years
from models.calendar import CalendarUpdate
from rules.calendar import OverrideFileError, default_calendar

log = structlog.get_logger(__name__)

SIGNAL = "calendar_updated"
RUNNING_LIFECYCLES = "WorkflowType = 'CenterLifecycle' AND ExecutionStatus = 'Running'"


async def claim_new_years(pool: asyncpg.Pool, years: list[int]) -> list[int]:
    """The years of ``years`` not announced before, now claimed by this worker (one worker wins each)."""
    async with pool.acquire() as conn:
        return await claim_calendar_years(conn, years)


async def announce_calendar(client: Client, pool: asyncpg.Pool, today: date) -> int:
    """PD10: signal every running lifecycle if the data covers years not announced yet; how many were signalled."""
    try:
        covered = default_calendar().covered_years()
    except OverrideFileError:
        return 0  # check_calendar has logged it; nothing settles on invalid data
    new_years = await claim_new_years(pool, sorted(y for y in covered if y >= today.year))
    if not new_years:
        return 0
    update = CalendarUpdate(years=new_years)
    signalled = 0
    async for execution in client.list_workflows(RUNNING_LIFECYCLES):
        try:
            await client.get_workflow_handle(execution.id).signal(SIGNAL, update)  # the newest run
            signalled += 1
        except RPCError as err:  # ended meanwhile: nothing to settle
            log.info("calendar_signal_skipped", workflow_id=execution.id, error=str(err))
    log.info("calendar_announced", years=new_years, lifecycles=signalled)
    return signalled
