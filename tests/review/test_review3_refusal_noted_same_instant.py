"""Review of `refusal_noted` against a deadline that falls due at the same instant (real dev server:
the worker is down while the public notice ends and the note arrives, so on restart the timer and the
signal come in one activation, signals first).

Every other handler applies what has fallen due before it judges (patch due-before-actions): an
action's signal or update runs `_catch_up()` first. `refusal_noted` judges a caught-up *copy*
(`_judge`), but writes its audit row on the stale state and before the due step: the log then shows
a refusal judged on the ended notice ahead of the `due:notice_end` row that ended it (and a signal
or update of the same action, sent at the same instant, is audited after it: two orders for one rule).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import pytest

from db.outcomes import list_audit
from models.refusal_note import REFUSAL_NOTED
from tests.fixtures import factories as f
from tests.fixtures.temporal import lifecycle_worker
from tests.workflows.test_dev_server_time_first import eventually, in_notice_ending_soon, start


def objection() -> dict:
    return {"actor": f.actor("public", name="李某"), "request_id": f"late-{uuid.uuid4().hex[:8]}", "objector": "李某",
            "contact": "li@example.com", "grounds": "异议"}


async def test_d7_refusal_noted_and_the_notice_end_in_one_activation_audits_the_refusal_after_the_due_step(
        dev_client, db_pool, worker_settings):
    state = in_notice_ending_soon(f"rn-same-{uuid.uuid4().hex[:8]}")
    task_queue = f"dev-{uuid.uuid4().hex[:8]}"
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        handle = await start(dev_client, task_queue, state)
        await eventually(handle, lambda s: s.phase == "public_notice", "started")
    await asyncio.sleep((state.notice.ends_at - datetime.now(timezone.utc)).total_seconds() + 1)
    late = objection()  # the validator refused it: the notice had ended at its `now`
    await handle.signal(REFUSAL_NOTED, {"action": "file_objection", "payload": late, "reported": {
        "rule_id": "D7", "field": "phase", "message": "the public notice has ended"}})
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        done = await eventually(handle, lambda s: s.notice.ended and s.rejected, "note and notice end handled")
        for _ in range(100):  # the records follow the state
            async with db_pool.acquire() as conn:
                audit = await list_audit(conn, state.center_id)
            if {"due:notice_end", "file_objection"} <= {a.action for a in audit}:
                break
            await asyncio.sleep(0.1)
        await handle.terminate("test finished")
    actions = [a.action for a in audit]
    assert actions.index("due:notice_end") < actions.index("file_objection"), actions
    assert done.rejected[-1].request_id == late["request_id"]
