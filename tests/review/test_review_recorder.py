"""Review of issue 9's recorder and continue-as-new (workflows/lifecycle.py): each failed on 0669465 and passes since the fixes.

PostgreSQL "down" for one center is a trigger refusing its audit rows with a retryable SQLSTATE
(57P03): tests/fixtures/database.py ``audit_writes_refused``.
"""

from __future__ import annotations

import contextlib
from datetime import date, timedelta

from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateStage
from temporalio.service import RPCError

from tests.fixtures import factories as f
from tests.fixtures.database import audit_writes_refused
from tests.workflows.flows import state_of, today
from tests.workflows.scenarios import sleep_until_local


async def failed_workflow_tasks(handle) -> list[str]:
    history = await handle.fetch_history()
    return [e.workflow_task_failed_event_attributes.failure.message[:300] for e in history.events
            if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]


async def test_review_year_change_with_an_update_waiting_for_its_record_does_not_spin(centers, env, db_pool):
    """PostgreSQL refuses writes from 22:00 on 31 December; an accepted update waits for its audit row
    (``_until_recorded``), so the handlers are not finished. At the year change a new run is wanted;
    once RECORDER_PATIENCE (1 h) has passed since the recorder began, ``_sleep_until_something_is_due``
    returns at once (delay <= 0) and the main loop spins without yielding: the workflow task fails
    with a deadlock, and keeps failing, until PostgreSQL returns. Deadlines stop firing meanwhile."""
    profile = f.profile()
    handle = await centers.start(profile)
    year = (await today(env)).year
    await sleep_until_local(env, date(year, 12, 31), hour=22)
    async with audit_writes_refused(db_pool, profile.center_id):
        await handle.start_update("submit_application", f.application(),
                                  wait_for_stage=WorkflowUpdateStage.ACCEPTED)
        try:  # 02:00 on 1 January: past the year change and the patience
            await env.sleep(timedelta(hours=4))
            skipped = "time skipped"
        except RPCError as err:  # the server cannot skip time while the workflow task keeps failing
            skipped = f"time could not be skipped: {err}"
        failures = await failed_workflow_tasks(handle)
        with contextlib.suppress(Exception):  # a spinning run would hold up the worker's shutdown
            await handle.terminate("review: stop a spinning run")
    assert failures == [], f"workflow task failed ({skipped}): {failures}"
    assert (await state_of(handle)).phase == "county_review"  # decided on time, recorded later


async def test_review_a_request_id_answers_only_the_action_it_was_sent_with(centers, env, db_pool):
    """A withdraw reusing the request_id of an earlier advance must not pass as its duplicate."""
    from temporalio.client import WorkflowUpdateFailedError

    handle = await centers.start(f.profile())
    rid = f.rid()
    await handle.execute_update("grant_advance", {"actor": f.actor("city_bureau"), "request_id": rid,
                                                  "amount_yuan": "1000", "payment_ref": "拨款单"})
    try:
        await handle.execute_update("withdraw", {"actor": f.actor("implementing_entity"), "request_id": rid,
                                                 "reason": "不再建设"})
        raise AssertionError("a withdraw with another action's request_id was answered as a duplicate")
    except WorkflowUpdateFailedError as err:
        assert err.cause.details[0]["field"] == "request_id"
    assert (await state_of(handle)).phase == "preparing"
