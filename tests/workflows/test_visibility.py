"""The skeleton end to end on the dev server `make run` uses: Temporal, PostgreSQL and SMTP (D1)."""

from __future__ import annotations

import asyncio
import uuid

from temporalio.client import WorkflowExecutionStatus
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

import pytest

from db.outcomes import get_center, list_audit
from models import search_attributes as sa
from models.offices import load_offices
from models.policy import GUIDELINE_2025
from models.state import CenterState, LifecycleInput
from tests.fixtures import factories as f
from tests.fixtures.temporal import lifecycle_worker
from workflows import visibility
from workflows.lifecycle import CenterLifecycle


async def eventually(check, attempts: int = 100):
    for _ in range(attempts):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.1)
    raise AssertionError("condition not met in time")


async def test_d1_lifecycle_opens_visible_in_ui_with_audit_row_and_mail(dev_client, db_pool, worker_settings, smtp_server):
    profile = f.profile()
    task_queue = f"dev-{uuid.uuid4().hex[:8]}"
    lifecycle = LifecycleInput(profile=profile, policy=GUIDELINE_2025, offices=load_offices(profile.county))
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        handle = await dev_client.start_workflow(
            CenterLifecycle.run, lifecycle, id=f"center-{profile.center_id}", task_queue=task_queue,
            static_summary=f"{profile.proposed_name} · dinghai · new_materials",
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
        with pytest.raises(WorkflowAlreadyStartedError):
            await dev_client.start_workflow(CenterLifecycle.run, lifecycle, id=handle.id, task_queue=task_queue,
                                            id_conflict_policy=WorkflowIDConflictPolicy.FAIL)
        await handle.execute_update("submit_application", f.application())

        query = (f'WorkflowId = "{handle.id}" AND CenterPhase = "county_review" AND CenterCounty = "dinghai" '
                 f'AND CenterField = "new_materials" AND EntityCreditCode = "{profile.implementing_entity.credit_code}"')

        async def listed():
            return [w async for w in dev_client.list_workflows(query)]

        (found,) = await eventually(listed)
        assert found.status == WorkflowExecutionStatus.RUNNING
        description = await handle.describe()
        assert description.typed_search_attributes.get(sa.CENTER_PHASE) == "county_review"
        assert await description.static_summary() == f"{profile.proposed_name} · dinghai · new_materials"
        metadata = await handle.query("__temporal_workflow_metadata")
        details = metadata.current_details
        state = await handle.query("state", result_type=CenterState)
        assert details == visibility.current_details(state) and "county_review" in details
        handler_names = {d.name for d in metadata.definition.update_definitions}
        assert {"submit_application", "publish_notice", "withdraw"} <= handler_names
        assert all(d.description for d in metadata.definition.update_definitions)

        async with db_pool.acquire() as conn:
            audit = await list_audit(conn, profile.center_id)
            snapshot = await get_center(conn, profile.center_id)
        assert [a.action for a in audit] == ["opened", "submit_application"]
        assert snapshot is not None and snapshot.phase == "county_review"
        opened = await smtp_server.wait_for(
            lambda m: m["X-Center-Id"] == profile.center_id and "[D1]" in str(m["Subject"]))
        assert "wangmin@center.example" in str(opened["To"])
        await handle.terminate("test finished")
