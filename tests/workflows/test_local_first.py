"""Staff latency (issue 11, patch ``latency-local-first``), switched off again for new runs by the patch
``latency-local-first-off``: with local attempts, an update sent as a run continued-as-new at the year
end went unanswered in about one time-skipping run in five
(`test_time_first.py::test_an_action_at_the_year_end_is_neither_lost_nor_half_applied`). New runs take
the ordinary activities; the runs recorded with local attempts (generation 2026-11-29-latency) replay
as they were taken (tests/workflows/test_replay.py).
"""

from __future__ import annotations

from temporalio.api.enums.v1 import EventType

from db.outcomes import list_audit
from tests.fixtures import factories as f
from workflows.lifecycle import LOCAL_FIRST, LOCAL_FIRST_OFF


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


async def patches_marked(handle) -> set[str]:
    found = set()
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_MARKER_RECORDED:
            data = event.marker_recorded_event_attributes.details["patch-data"].SerializeToString()
            found |= {p for p in (LOCAL_FIRST, LOCAL_FIRST_OFF) if f'"{p}"'.encode() in data}
    return found


async def test_a_new_run_takes_the_ordinary_activities(centers, env, db_pool):
    profile = f.profile()
    handle = await centers.start(profile)
    await handle.execute_update("submit_application", f.application())  # PD7 bans lookup, then the record
    await handle.execute_update("record_county_review", f.county_review())
    scheduled, local = await activities_after_the_update(handle)
    assert local == 0 and "record_outcomes" in scheduled and "find_active_bans" in scheduled, (scheduled, local)
    assert await patches_marked(handle) == {LOCAL_FIRST_OFF}
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
    assert [a.action for a in audit] == ["opened", "submit_application", "record_county_review"]
