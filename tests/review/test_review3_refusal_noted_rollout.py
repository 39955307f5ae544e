"""Review of the rollout of today's `refusal_noted` signal handler (docs/rollout.md).

A signal sent to a workflow whose code has no handler for it is not refused: the server writes it
into the history and the SDK buffers it. The staff layer (CLI, portal) now sends `refusal_noted`
after every validator refusal; if it is deployed before the workers (or a worker of the previous
release still runs during a rolling deploy), lifecycles get `refusal_noted` events in histories that
the old code handled by doing nothing. The new worker replays such a history, the handler now runs at
that event and schedules the audit record (a local activity / `record_outcomes`) the history never
had: a non-determinism error, and the lifecycle stops on its next replay (cache eviction, restart).
Real Temporal (time-skipping server), real PostgreSQL.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from temporalio import workflow
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker

from activities.registry import build_activities
from models.offices import load_offices
from models.policy import GUIDELINE_2025
from models.refusal_note import REFUSAL_NOTED
from models.state import LifecycleInput
from tests.fixtures import factories as f
from workers.sandbox import strict_runner
from workflows.lifecycle import CenterLifecycle


@workflow.defn(name="CenterLifecycle", sandboxed=False)
class BeforeRefusalNoted(CenterLifecycle):  # type: ignore[misc, valid-type]
    """The lifecycle as the previous release ran it: everything but the `refusal_noted` handler
    (unset before anything else runs, so the signal is buffered as by a worker without it)."""

    @workflow.run
    async def run(self, input: LifecycleInput) -> Any:
        workflow.set_signal_handler(REFUSAL_NOTED, None)
        return await super().run(input)


async def old_worker_history(env, db_pool, worker_settings, *, note: bool):
    """A lifecycle run by the previous release's worker; the staff layer reports one refusal if ``note``."""
    task_queue = f"old-{uuid.uuid4().hex[:8]}"
    profile = f.profile()
    async with Worker(env.client, task_queue=task_queue, workflows=[BeforeRefusalNoted],
                      activities=build_activities(db_pool, worker_settings)):
        handle = await env.client.start_workflow(
            "CenterLifecycle", LifecycleInput(profile=profile, policy=GUIDELINE_2025, offices=load_offices(profile.county)),
            id=f"center-{profile.center_id}", task_queue=task_queue)
        await handle.execute_update("submit_application", f.application())
        if note:
            wrong = f.county_review(county="putuo", request_id="wrong-county")
            await handle.signal(REFUSAL_NOTED, {"action": "record_county_review", "payload": wrong, "reported": {
                "rule_id": "D5", "field": "actor.county", "message": "only the county department of dinghai"}})
        await handle.execute_update("withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                                 "reason": "测试结束"})
        return await handle.fetch_history()


def new_code() -> Replayer:
    return Replayer(workflows=[CenterLifecycle], data_converter=pydantic_data_converter, workflow_runner=strict_runner())


async def test_control_the_previous_release_history_without_a_note_replays_on_the_new_code(env, db_pool, worker_settings):
    history = await old_worker_history(env, db_pool, worker_settings, note=False)
    await new_code().replay_workflow(history)


async def test_a_history_with_refusal_noted_from_before_the_handler_replays_on_the_new_code(env, db_pool, worker_settings):
    history = await old_worker_history(env, db_pool, worker_settings, note=True)
    assert any(e.workflow_execution_signaled_event_attributes.signal_name == REFUSAL_NOTED for e in history.events)
    await new_code().replay_workflow(history)  # raises on non-determinism
