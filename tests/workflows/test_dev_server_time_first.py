"""On the real dev server, where a timer and an action can arrive in one workflow activation (after
worker downtime), and where payload limits are the server's own (issue 9).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError, WorkflowUpdateStage

from db.outcomes import list_audit
from models.offices import load_offices
from models.policy import GUIDELINE_2025
from models.state import CenterState, LifecycleInput
from rules.calendar import end_of_day, local_date
from rules.designation import MAX_OBJECTIONS_PER_NOTICE
from tests.fixtures import factories as f
from tests.fixtures.database import audit_writes_refused
from tests.fixtures.states import run
from tests.fixtures.temporal import lifecycle_worker
from workflows.lifecycle import CenterLifecycle

NOTICE_ENDS_IN = timedelta(seconds=4)


def in_notice_ending_soon(center_id: str) -> CenterState:
    """A center in its public notice (D7) whose end is NOTICE_ENDS_IN from now, on the wall clock."""
    profile = f.profile(center_id)
    state = CenterState(profile=profile, policy=GUIDELINE_2025, offices=load_offices(profile.county),
                        opened_at=datetime.now(timezone.utc))
    now = datetime.now(timezone.utc)
    published = local_date(now)
    state = run(state, "submit_application", f.application(), now, facts=[]).state
    state = run(state, "record_county_review", f.county_review(), now).state
    state = run(state, "record_city_evaluation", f.city_evaluation(evaluated_on=published), now).state
    state = run(state, "publish_notice", f.notice(published), now, facts=end_of_day(published)).state
    ends_at = datetime.now(timezone.utc) + NOTICE_ENDS_IN
    state.notice.ends_at = ends_at
    state.deadline("notice-end").due_at = ends_at
    return state


async def start(dev_client, task_queue: str, state: CenterState) -> WorkflowHandle:
    return await dev_client.start_workflow(
        CenterLifecycle.run,
        LifecycleInput(profile=state.profile, policy=state.policy, offices=state.offices, state=state),
        id=f"center-{state.center_id}", task_queue=task_queue,
    )


async def state_of(handle: WorkflowHandle) -> CenterState:
    return await handle.query("state", result_type=CenterState)


async def eventually(handle: WorkflowHandle, predicate, what: str, seconds: float = 30) -> CenterState:
    for _ in range(int(seconds / 0.2)):
        state = await state_of(handle)
        if predicate(state):
            return state
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: not reached; phase {state.phase}")


def withdraw() -> dict[str, Any]:
    return {"actor": f.actor("implementing_entity", name="王敏"), "request_id": f.rid(), "reason": "不再建设"}


def document(state: CenterState) -> dict[str, Any]:
    """PD16: the bureau's designation document, dated today, under a name of this test's own."""
    return f.designation_document(local_date(datetime.now(timezone.utc)), name_xx="新材料" + state.center_id[-8:])


async def test_d7_pd16_a_document_signal_and_the_notice_end_in_one_activation(dev_client, db_pool, worker_settings):
    """D7, PD16: the worker is down while the notice ends and the bureau's designation document comes
    in by signal; on restart both arrive in one activation. The notice end is applied first, so the
    document (refused while a notice runs) is accepted: designated, nothing refused."""
    state = in_notice_ending_soon(f"one-act-{uuid.uuid4().hex[:8]}")
    task_queue = f"dev-{uuid.uuid4().hex[:8]}"
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        handle = await start(dev_client, task_queue, state)
        await eventually(handle, lambda s: s.phase == "public_notice", "started")
    await asyncio.sleep((state.notice.ends_at - datetime.now(timezone.utc)).total_seconds() + 1)
    await handle.signal("issue_designation", document(state))
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        done = await eventually(handle, lambda s: s.phase == "designated", "document handled")
        assert done.notice.ended and not done.rejected
        assert done.deadline("notice-end") is None and done.deadline("designation-document") is None
        for _ in range(100):  # the step is recorded just after the state shows it
            async with db_pool.acquire() as conn:
                audit = [a.action for a in await list_audit(conn, state.center_id)]
            if "issue_designation" in audit:
                break
            await asyncio.sleep(0.1)
        assert audit.index("due:notice_end") < audit.index("issue_designation"), audit
        await handle.terminate("test finished")


async def test_d7_pd16_an_update_after_the_notice_end_is_judged_by_the_validator_on_the_caught_up_state(
        dev_client, db_pool, worker_settings):
    """D7, PD16: the same race with an update: its validator judges the caught-up state, where the
    notice has ended, so the document (refused on the stale state: the notice runs) is accepted."""
    state = in_notice_ending_soon(f"one-upd-{uuid.uuid4().hex[:8]}")
    task_queue = f"dev-{uuid.uuid4().hex[:8]}"
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        handle = await start(dev_client, task_queue, state)
        await eventually(handle, lambda s: s.phase == "public_notice", "started")
    await asyncio.sleep((state.notice.ends_at - datetime.now(timezone.utc)).total_seconds() + 1)
    pending = asyncio.create_task(handle.execute_update("issue_designation", document(state)))
    await asyncio.sleep(0.5)
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        assert (await pending)["phase"] == "designated"
        done = await state_of(handle)
        assert done.notice.ended and not done.rejected
        await handle.terminate("test finished")


async def test_oversized_and_poisoned_input_is_refused_or_bounded_with_the_field_named(dev_client, db_pool, worker_settings):
    """No input can wedge a lifecycle: 1.5 MB of materials, 1.2 MB actor names in refused signals,
    NUL bytes, and an objection flood are refused (with the field named) or bounded; afterwards the
    state is small, queries answer and actions still go through."""
    state = in_notice_ending_soon(f"wedge-{uuid.uuid4().hex[:8]}")
    state.notice.ends_at = state.deadline("notice-end").due_at = datetime.now(timezone.utc) + timedelta(days=5)
    task_queue = f"dev-{uuid.uuid4().hex[:8]}"
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        handle = await start(dev_client, task_queue, state)
        huge = f.application(materials=["材" * 150] * 3000)  # ~1.3 MB, under the server's own 2 MB limit
        with pytest.raises(WorkflowUpdateFailedError) as too_many:
            await handle.execute_update("submit_application", huge)
        assert too_many.value.cause.details[0]["field"] == "materials"

        for _ in range(2):
            await handle.signal("withdraw", withdraw() | {"actor": {"name": "名" * 400_000, "role": "implementing_entity"}})
        nul = {"actor": f.actor("public", name="李某"), "request_id": f.rid(), "objector": "李\x00某",
               "contact": "li@example.com", "grounds": "异议"}
        with pytest.raises(WorkflowUpdateFailedError) as poisoned:
            await handle.execute_update("file_objection", nul)
        assert poisoned.value.cause.details[0]["field"] == "objector"
        await handle.signal("file_objection", nul | {"request_id": f.rid()})

        for n in range(MAX_OBJECTIONS_PER_NOTICE + 1):
            await handle.signal("file_objection", {"actor": f.actor("public", name=f"公众{n}"), "request_id": f.rid(),
                                                   "objector": f"公众{n}", "contact": "x@example.com",
                                                   "grounds": "议" * 2000})
        done = await eventually(handle, lambda s: len(s.rejected) >= 4, "flood handled", seconds=60)
        assert len(done.objections) == MAX_OBJECTIONS_PER_NOTICE
        assert [r.field for r in done.rejected] == ["actor.name", "actor.name", "objector", "objection"]
        assert all(len(r.actor or "") <= 100 for r in done.rejected)
        assert len(done.model_dump_json().encode()) < 512 * 1024
        answer = await handle.execute_update("resolve_objection", {
            "actor": f.actor("city_bureau"), "request_id": f.rid(), "objection_id": done.objections[0].id,
            "outcome": "dismissed", "finding": "不成立"})
        assert answer["phase"] == "public_notice" and "state" not in answer or answer.get("state") is None
        async with db_pool.acquire() as conn:
            audit = await list_audit(conn, state.center_id)
        assert sum(a.outcome == "rejected" for a in audit) == 4 and audit[-1].action == "resolve_objection"
        await handle.terminate("test finished")


async def test_a_lifecycle_restarted_within_a_second_keeps_keys_of_its_own(dev_client, db_pool, worker_settings):
    """Start, withdraw and start again, scripted (well within a second on the real clock): the second
    lifecycle's audit rows and mail must not take the first one's idempotency keys and be dropped
    as duplicates. Each lifecycle's keys carry its own first run id."""
    profile = f.profile()
    task_queue = f"dev-{uuid.uuid4().hex[:8]}"
    lifecycle = LifecycleInput(profile=profile, policy=GUIDELINE_2025, offices=load_offices(profile.county))
    runs = []
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        for _ in range(2):
            handle = await dev_client.start_workflow(CenterLifecycle.run, lifecycle, id=f"center-{profile.center_id}",
                                                     task_queue=task_queue)
            await handle.execute_update("withdraw", withdraw())
            await handle.result()
            runs.append(handle.first_execution_run_id)
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
    assert [a.action for a in audit] == ["opened", "withdraw", "opened", "withdraw"]
    assert [a.key.split(":")[1] for a in audit] == [runs[0], runs[0], runs[1], runs[1]]


async def test_d7_the_notice_ends_on_time_while_postgresql_refuses_writes(dev_client, db_pool, worker_settings):
    """A deadline whose decision needs nothing from outside (PD16: the notice end opens the bureau's
    document deadline) is decided on time in the workflow's
    state while PostgreSQL refuses every write of this center (a retryable error, as in an outage);
    its record is written, in order, once the database takes writes again."""
    state = in_notice_ending_soon(f"pg-down-{uuid.uuid4().hex[:8]}")
    task_queue = f"dev-{uuid.uuid4().hex[:8]}"
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        handle = await start(dev_client, task_queue, state)
        async with audit_writes_refused(db_pool, state.center_id):
            done = await eventually(handle, lambda s: s.notice.ended, "notice ended on time")
            assert done.deadline("designation-document") is not None  # PD16: the bureau's document is due
            async with db_pool.acquire() as conn:
                assert await list_audit(conn, state.center_id) == []
        for _ in range(150):  # the recorder retries with backoff (at most about 10 s here)
            async with db_pool.acquire() as conn:
                audit = await list_audit(conn, state.center_id)
            if audit:
                break
            await asyncio.sleep(0.2)
        assert [a.action for a in audit] == ["due:notice_end"]
        assert audit[0].at - state.notice.ends_at < timedelta(seconds=2), "decided at the due time, recorded later"
        await handle.terminate("test finished")
