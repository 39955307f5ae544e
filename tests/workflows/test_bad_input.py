"""No input may fail a workflow task: junk sent to every action is refused and recorded, never fatal."""

from __future__ import annotations

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from rules.catalog import ACTIONS
from tests.fixtures import factories as f
from tests.workflows.flows import state_of

JUNK = [
    None, 1, "x", [], {},
    {"actor": 1, "request_id": "r"},
    {"actor": {"name": "", "role": "city_bureau"}, "request_id": "r"},
    {"actor": {"name": "a", "role": "mayor"}, "request_id": "r"},
    {"actor": {"name": "a", "role": "city_bureau"}, "request_id": ""},
    {"actor": {"name": "a", "role": "city_bureau"}, "request_id": "r", "unexpected": True},
    {"actor": {"name": "a", "role": "county_department", "county": "hangzhou"}, "request_id": "r"},
    {"actor": {"name": "a", "role": "city_bureau"}, "request_id": "r", "published_on": "2026-13-45",
     "amount_yuan": "12.345", "grade": "优", "year": "MMXXVI", "objection_id": 7, "score": 101},
]


async def test_junk_to_every_action_is_refused_and_never_fails_a_task(centers):
    handle = await centers.start(f.profile())
    refused = 0
    for name in sorted(ACTIONS):
        for payload in JUNK:
            with pytest.raises(WorkflowUpdateFailedError) as info:
                await handle.execute_update(name, payload)
            assert isinstance(info.value.cause, ApplicationError) and info.value.cause.type == "ActionRefused"
            assert {"rule_id", "field", "message"} <= set(info.value.cause.details[0])
            await handle.signal(name, payload)
            refused += 1
    await handle.execute_update("submit_application", f.application())  # still alive and working
    state = await state_of(handle)
    assert state.phase == "county_review"
    assert len(state.rejected) == min(refused, 50)
    history = await handle.fetch_history()
    failed = [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED]
    assert failed == []
