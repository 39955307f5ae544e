"""Duplicates and bursts: one request_id sent 10 times at once, updates and signals mixed, acts once.

Run on the time-skipping server and on the dev server, several rounds each; every resulting history
replays (the ``centers`` fixture replays its lifecycles; the dev-server rounds replay here).
"""

from __future__ import annotations

import asyncio
import uuid

import pytest
from temporalio.worker import Worker

from activities.registry import build_activities
from models.offices import load_offices
from models.policy import GUIDELINE_2025
from models.state import ActionResult, LifecycleInput
from tests.fixtures import factories as f
from tests.fixtures.temporal import replayer
from tests.workflows.flows import state_of
from workers.sandbox import workflow_runner
from workflows.lifecycle import CenterLifecycle

pytestmark = pytest.mark.slow
COPIES = 10


async def burst(handle, payload: dict) -> None:
    """5 updates and 5 signals of the same payload, interleaved, all in flight at once."""
    sends = [handle.execute_update("submit_application", payload, result_type=ActionResult) if i % 2 == 0 else
             handle.signal("submit_application", payload) for i in range(COPIES)]
    results = await asyncio.gather(*sends)
    updates = [r for r in results if r is not None]
    assert len(updates) == COPIES // 2
    assert all(r.request_id == payload["request_id"] for r in updates)
    assert sum(not r.duplicate for r in updates) <= 1  # a signal may have been the one that acted


async def acted_once(handle, db_pool, request_id: str, revision: int) -> None:
    await asyncio.sleep(0.5)  # let every signal of the burst be handled
    state = await state_of(handle)
    assert state.phase == "county_review" and state.revision == revision + 1, (state.revision, state.rejected)
    assert state.rejected == []
    assert request_id in state.answered
    async with db_pool.acquire() as conn:
        audits = await conn.fetch("SELECT outcome FROM audit_log WHERE center_id = $1 AND request_id = $2",
                                  state.center_id, request_id)
        outbox = await conn.fetchval("SELECT count(*) FROM outbox WHERE center_id = $1 AND key LIKE $2",
                                     state.center_id, f"%{request_id}%")
    assert [a["outcome"] for a in audits] == ["accepted"]
    assert outbox == 1


async def opened(handle) -> int:
    return (await state_of(handle)).revision


@pytest.mark.parametrize("round_", range(6))
async def test_same_request_id_ten_times_at_once_acts_once_time_skipping(round_, centers, db_pool):
    handle = await centers.start(f.profile())
    revision = await opened(handle)
    payload = f.application()
    await burst(handle, payload)
    await acted_once(handle, db_pool, payload["request_id"], revision)


async def test_same_request_id_ten_times_at_once_acts_once_dev_server(dev_client, db_pool, worker_settings):
    queue = f"burst-{uuid.uuid4().hex[:8]}"
    async with Worker(dev_client, task_queue=queue, workflows=[CenterLifecycle], workflow_runner=workflow_runner(),
                      activities=build_activities(db_pool, worker_settings)):
        handles = []
        for _ in range(6):
            profile = f.profile()
            handle = await dev_client.start_workflow(
                CenterLifecycle.run, LifecycleInput(profile=profile, policy=GUIDELINE_2025,
                                                    offices=load_offices(profile.county)),
                id=f"center-{profile.center_id}", task_queue=queue)
            revision = await opened(handle)
            payload = f.application()
            await burst(handle, payload)
            await acted_once(handle, db_pool, payload["request_id"], revision)
            handles.append(handle)
    for handle in handles:
        await replayer().replay_workflow(await handle.fetch_history())
