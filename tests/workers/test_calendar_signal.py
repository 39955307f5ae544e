"""PD10: a worker that starts with calendar data for new years tells the running lifecycles once,
on the real dev server (visibility lists them) with real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime

import asyncpg
import pytest_asyncio
from temporalio.worker import Worker

from activities.registry import build_activities
from workers.sandbox import workflow_runner
from models.offices import load_offices
from models.policy import GUIDELINE_2025
from models.state import CenterState, LifecycleInput
from rules.calendar import default_calendar, end_of_day, legal_last_day, local_date, period_end
from tests.fixtures import factories as f
from tests.fixtures.calendar import made_up_year_table, shipped_end
from workers.calendar_signal import RUNNING_LIFECYCLES, announce_calendar
from workflows.lifecycle import CenterLifecycle


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    """Its own database: the announced years and the yearly cap (PD6) are this test's alone."""
    return fresh_db_pool


async def eventually(check, what: str):
    for _ in range(100):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError(f"{what}: not reached")


async def test_pd10_worker_start_signals_running_lifecycles_once_when_the_data_grows(
        dev_client, db_pool, worker_settings, env_overrides):
    today = local_date(datetime.now(UTC))
    lacking = today.year + 2
    known = "".join(made_up_year_table(y) for y in range(shipped_end().year + 1, lacking))
    env_overrides(known)
    profile = f.profile()
    task_queue = f"dev-{uuid.uuid4().hex[:8]}"
    async with Worker(dev_client, task_queue=task_queue, workflows=[CenterLifecycle], workflow_runner=workflow_runner(),
                      activities=build_activities(db_pool, worker_settings)):
        handle = await dev_client.start_workflow(
            CenterLifecycle.run, LifecycleInput(profile=profile, policy=GUIDELINE_2025, offices=load_offices(profile.county)),
            id=f"center-{profile.center_id}", task_queue=task_queue)
        try:
            await handle.execute_update("grant_advance", {
                "actor": f.actor("city_bureau"), "request_id": f.rid(), "year": today.year, "amount_yuan": "100000",
                "payment_ref": "舟科拨"})
            state = await handle.query("state", result_type=CenterState)
            nominal = period_end(state.subsidy.first_advance_on, years=2).nominal
            assert state.deadline("s3-designation").provisional
            # Nothing new at the first start but the years known now; the lacking year is not among them.
            await eventually(lambda: _listed(dev_client, handle.id), "lifecycle visible")
            await announce_calendar(dev_client, db_pool, today)

            env_overrides(known + f'[{lacking}]\nsource = "TEST FIXTURE"\nholidays = [{nominal.isoformat()}]\n')
            assert await announce_calendar(dev_client, db_pool, today) >= 1  # the worker restarts with the new year
            assert await announce_calendar(dev_client, db_pool, today) == 0  # announced once

            async def settled():
                s = await handle.query("state", result_type=CenterState)
                return None if s.deadline("s3-designation").provisional else s

            state = await eventually(settled, "S3 end settled by the signal")
            assert state.deadline("s3-designation").due_at == end_of_day(legal_last_day(nominal, default_calendar()))
        finally:
            await handle.terminate("test finished")


async def _listed(client, workflow_id: str) -> bool:
    return any([w async for w in client.list_workflows(f'{RUNNING_LIFECYCLES} AND WorkflowId = "{workflow_id}"')])
