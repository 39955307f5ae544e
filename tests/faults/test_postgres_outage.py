"""PostgreSQL outage during an action: the embedded server is stopped, an action is sent, the server
is started again. The action lands once, with its audit row and its ledger entry; no workflow task
fails; the worker's outbox dispatcher lives through it and sends the mail. On the dev server, with the
worker's activities retrying against the real database.
"""

from __future__ import annotations

import asyncio
import tempfile
import uuid
from datetime import date
from pathlib import Path

import pytest
from temporalio.api.enums.v1 import EventType

from db.embedded import start_embedded, stop_embedded
from db.migrate import apply_migrations
from db.pool import create_pool
from models.offices import load_offices
from models.policy import GUIDELINE_2025
from models.state import ActionResult, CenterState, LifecycleInput
from tests.fixtures import factories as f
from tests.fixtures.temporal import lifecycle_worker, replayer
from workflows.lifecycle import CenterLifecycle

pytestmark = pytest.mark.slow


@pytest.mark.timeout(300)
async def test_postgres_stopped_during_an_advance_it_lands_once_with_audit_and_ledger(dev_client, worker_settings):
    pg_dir = Path(tempfile.mkdtemp(prefix="centers-outage-"))  # short: the unix socket path has a limit
    url = start_embedded(pg_dir)
    pool = await create_pool(url, min_size=1, max_size=5)
    await apply_migrations(pool)
    queue = f"outage-{uuid.uuid4().hex[:8]}"
    try:
        async with lifecycle_worker(dev_client, queue, pool, worker_settings):
            profile = f.profile()
            handle = await dev_client.start_workflow(
                CenterLifecycle.run, LifecycleInput(profile=profile, policy=GUIDELINE_2025,
                                                    offices=load_offices(profile.county)),
                id=f"center-{profile.center_id}", task_queue=queue)
            await handle.query("state")
            request_id = f"adv-{uuid.uuid4().hex[:8]}"
            payload = {"actor": f.actor("city_bureau"), "request_id": request_id, "year": date.today().year,
                       "amount_yuan": "1000.00", "payment_ref": "舟科拨〔2026〕9号"}

            stop_embedded(pg_dir)  # the outage
            sent = asyncio.create_task(handle.execute_update("grant_advance", payload, result_type=ActionResult))
            await asyncio.sleep(3)  # the action's activities fail against the stopped server and retry
            assert not sent.done()
            assert start_embedded(pg_dir) == url
            result = await asyncio.wait_for(sent, 180)
            assert result.request_id == request_id and not result.duplicate
            again = await handle.execute_update("grant_advance", payload, result_type=ActionResult)
            assert again.duplicate

            state = await handle.query("state", result_type=CenterState)
            assert [y.year for y in state.subsidy.years] == [date.today().year]
            async with pool.acquire() as conn:
                audits = await conn.fetch("SELECT outcome FROM audit_log WHERE center_id = $1 AND request_id = $2",
                                          profile.center_id, request_id)
                ledger = await conn.fetch("SELECT kind, amount_yuan FROM subsidy_ledger WHERE center_id = $1",
                                          profile.center_id)
            assert [a["outcome"] for a in audits] == ["accepted"]
            assert [(r["kind"], str(r["amount_yuan"])) for r in ledger] == [("advance", "1000.00")]
            for _ in range(150):  # the outbox dispatcher lived through the outage and sends the mail
                async with pool.acquire() as conn:
                    unsent = await conn.fetchval("SELECT count(*) FROM outbox WHERE center_id = $1 AND sent_at IS NULL",
                                                 profile.center_id)
                if not unsent:
                    break
                await asyncio.sleep(0.2)
            assert unsent == 0
            history = await handle.fetch_history()
            assert [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED] == []
            await replayer().replay_workflow(history)
            await handle.terminate("test done")
    finally:
        await pool.close()
        stop_embedded(pg_dir)
