"""Logs from activities and workflows carry the workflow id, run id and attempt."""

from __future__ import annotations

from temporalio import activity
from temporalio.testing import ActivityEnvironment

from workers.logging import add_temporal_context


async def test_activity_log_lines_carry_workflow_id_run_id_and_attempt():
    @activity.defn
    async def logs_something() -> dict:
        return add_temporal_context(None, "info", {"event": "mail sent"})

    env = ActivityEnvironment()
    env.info = env.info.__class__(**{**env.info.__dict__, "workflow_id": "center-zs-01", "workflow_run_id": "run-7",
                                     "attempt": 3, "activity_type": "deliver_mail"})
    event = await env.run(logs_something)
    assert event == {"event": "mail sent", "workflow_id": "center-zs-01", "run_id": "run-7",
                     "activity_type": "deliver_mail", "attempt": 3}


def test_sdk_logger_extra_is_flattened():
    """The SDK's workflow logger puts its facts in a nested extra; they reach the top level of the line."""
    event = add_temporal_context(None, "info", {"event": "x", "temporal_workflow": {
        "workflow_id": "center-zs-02", "run_id": "r", "attempt": 1, "workflow_type": "CenterLifecycle"}})
    assert (event["workflow_id"], event["run_id"], event["attempt"]) == ("center-zs-02", "r", 1)


def test_outside_temporal_nothing_is_added():
    assert add_temporal_context(None, "info", {"event": "worker started"}) == {"event": "worker started"}
