"""`centers import FILE`: bring in a center designated before the service existed (INTERFACE.md).

The file is checked at the door like every payload (models/importing.py, rules/importing.py), then
the lifecycle starts in its current phase; the workflow records the import as one audited step.
"""

from __future__ import annotations

from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError

from centers.context import Context
from centers.errors import OK, BadInput, Failed
from centers.payloads import fill_envelope, read_json, validate
from models.directory import load_offices
from models.importing import ImportCenter
from models.policy import policy_in_force
from models.state import CenterState, LifecycleInput
from rules.calendar import local_date
from rules.engine import Refusal
from rules.importing import import_lifecycle
from workflows.lifecycle import CenterLifecycle
from workflows.visibility import initial_search_attributes, static_summary


async def import_center(ctx: Context, file: str, *, request_id: str | None, actor_name: str | None,
                        actor_role: str | None, actor_county: str | None) -> int:
    data, _ = fill_envelope(read_json(file, what="import file"), request_id=request_id, actor_name=actor_name,
                            actor_role=actor_role, actor_county=actor_county)
    imp = validate(ImportCenter, data, "import file")
    assert isinstance(imp, ImportCenter)
    policy = policy_in_force(local_date(ctx.clock()))  # PD8: the guideline in effect today
    offices = load_offices(imp.profile.county)
    fresh = CenterState(profile=imp.profile, policy=policy, offices=offices, opened_at=ctx.clock())
    try:  # the workflow checks again; this answers a person before anything starts
        preview = import_lifecycle(fresh.model_copy(deep=True), imp, ctx.clock()).state
    except Refusal as refusal:
        raise BadInput(f"refused [{refusal.rule_id}] {refusal.field}: {refusal.message}") from None
    wid = f"center-{imp.profile.center_id}"
    client = await ctx.temporal()
    try:
        handle = await client.start_workflow(
            CenterLifecycle.run, LifecycleInput(profile=imp.profile, policy=policy, offices=offices, imported=imp),
            id=wid, task_queue=ctx.settings.task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL, id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
            search_attributes=initial_search_attributes(preview), static_summary=static_summary(preview),
        )
    except WorkflowAlreadyStartedError:
        raise Failed(f"center {imp.profile.center_id} already has a running lifecycle ({wid})") from None
    except RPCError as err:
        raise Failed(f"could not start {wid}: {err.message}") from None
    ctx.print(f"imported {wid} (run {handle.result_run_id}) in phase {preview.phase.value}, from {imp.source_ref}")
    ctx.print(f"web UI  {ctx.ui_link(wid)}")
    if ctx.json_mode:
        ctx.emit({"outcome": "imported", "workflow_id": wid, "run_id": handle.result_run_id,
                  "phase": preview.phase.value, "source_ref": imp.source_ref, "ui": ctx.ui_link(wid)})
    return OK
