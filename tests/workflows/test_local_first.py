"""Staff latency (issue 11, patch ``latency-local-first``): an action's facts and its record are tried
first as one short local activity attempt, inside the workflow task, and the ordinary activity takes
over when that attempt fails or outlasts LOCAL_ATTEMPT. Real PostgreSQL on the time-skipping server.
"""

from __future__ import annotations

import asyncio

import asyncpg
from temporalio.api.enums.v1 import EventType

from db.outcomes import list_audit
from tests.fixtures import factories as f
from tests.fixtures.database import audit_writes_refused
from workflows.lifecycle import LOCAL_ATTEMPT, LOCAL_FIRST


async def activities_after_the_update(handle) -> tuple[list[str], int]:
    """(ordinary activities scheduled, local-activity markers) from the update's acceptance on."""
    scheduled, local, accepted = [], 0, False
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED:
            accepted = True
        elif accepted and event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled.append(event.activity_task_scheduled_event_attributes.activity_type.name)
        elif accepted and event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            local += event.marker_recorded_event_attributes.marker_name == "core_local_activity"
    return scheduled, local


async def patch_marked(handle) -> bool:
    async for event in handle.fetch_history_events():
        if (event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
                and LOCAL_FIRST.encode() in event.marker_recorded_event_attributes.details["patch-data"].SerializeToString()):
            return True
    return False


async def test_an_action_runs_its_facts_and_record_without_a_server_round_trip(centers, env, db_pool):
    profile = f.profile()
    handle = await centers.start(profile)
    await handle.execute_update("submit_application", f.application())  # PD7 bans lookup, then the record
    await handle.execute_update("record_county_review", f.county_review())
    scheduled, local = await activities_after_the_update(handle)
    assert scheduled == [], "every activity after the first update ran locally"
    assert local >= 3  # bans lookup, the application's record, the county review's record
    assert await patch_marked(handle)
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
    assert [a.action for a in audit] == ["opened", "submit_application", "record_county_review"]


async def test_a_record_held_past_the_local_attempt_is_taken_over_by_the_activity_and_lands_once(
        centers, env, db_pool, database_url):
    """PostgreSQL holds the record (a table lock) longer than LOCAL_ATTEMPT: the local attempt gives up,
    the ordinary activity waits for the lock, and the action is answered once, with one audit row."""
    profile = f.profile()
    handle = await centers.start(profile)
    await handle.execute_update("submit_application", f.application())
    lock = await asyncpg.connect(database_url)
    try:
        held = lock.transaction()
        await held.start()
        await lock.execute("LOCK TABLE audit_log IN SHARE MODE")
        sent = asyncio.create_task(handle.execute_update("record_county_review", f.county_review()))
        await asyncio.sleep(LOCAL_ATTEMPT.total_seconds() + 2)
        assert not sent.done(), "answered before its audit row was written"
        await held.rollback()
    finally:
        await lock.close()
    result = await asyncio.wait_for(sent, 60)
    assert result["phase"] == "city_evaluation"
    scheduled, _ = await activities_after_the_update(handle)
    assert scheduled == ["record_outcomes"], "the ordinary activity took over the record"
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
    assert [a.action for a in audit] == ["opened", "submit_application", "record_county_review"]


async def test_a_retryable_database_refusal_falls_back_to_the_retrying_activity(centers, env, db_pool):
    """57P03 (PostgreSQL starting up) fails the local attempt at once; the ordinary activity retries
    until PostgreSQL takes the write, and the update is answered after its audit row is written."""
    profile = f.profile()
    handle = await centers.start(profile)
    async with audit_writes_refused(db_pool, profile.center_id, action="submit_application"):
        sent = asyncio.create_task(handle.execute_update("submit_application", f.application()))
        await asyncio.sleep(3)
        assert not sent.done()
    result = await asyncio.wait_for(sent, 60)
    assert result["phase"] == "county_review"
    scheduled, _ = await activities_after_the_update(handle)
    assert "record_outcomes" in scheduled
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
    assert [a.action for a in audit] == ["opened", "submit_application"]
