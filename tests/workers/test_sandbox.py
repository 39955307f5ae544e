"""The workers' sandbox (workers/sandbox.py): cached runs share one copy of our modules, and replay
under the SDK's full sandbox still refuses a non-deterministic call in a passed-through module."""

from __future__ import annotations

import gc
import sys
import uuid

import pytest
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from tests.fixtures import factories as f
from tests.fixtures.temporal import replayer
from tests.workers.sandbox_probe import ReadsTheClock
from workers.sandbox import PASSTHROUGH_MODULES

OURS = ("workflows", "models", "rules")


def private_modules(workflow_id: str) -> set[str]:
    """Modules of ours that the cached run's sandbox imported for itself (the SDK keeps them in its
    importer's ``new_modules``; a passed-through module there is the host's own object)."""
    found: set[str] = set()
    instances = [o for o in gc.get_objects() if type(o).__qualname__ == "_Instance"
                 and type(o).__module__.endswith("workflow_sandbox._runner")
                 and o.instance_details.info.workflow_id == workflow_id]
    assert instances, f"no cached sandboxed run of {workflow_id}"
    for instance in instances:
        found |= {name for name, module in instance.importer.new_modules.items()
                  if name.split(".")[0] in OURS and sys.modules.get(name) is not module}
    return found


async def test_cached_lifecycles_share_one_copy_of_the_workflow_models_and_rules(centers):
    handles = [await centers.start(f.profile()) for _ in range(2)]
    for handle in handles:
        await handle.query("state")  # answered by the worker: the run sits in its cache
    for handle in handles:
        assert private_modules(handle.id) == set()


def passing_through(module: str) -> SandboxedWorkflowRunner:
    """The workers' sandbox, with the probe's module passed through as ours are."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES, module))


async def test_replay_under_the_full_sandbox_refuses_a_clock_read_in_a_passed_through_module(env):
    queue = f"probe-{uuid.uuid4().hex[:8]}"
    async with Worker(env.client, task_queue=queue, workflows=[ReadsTheClock],
                      workflow_runner=passing_through(ReadsTheClock.__module__)):
        handle = await env.client.start_workflow(ReadsTheClock.run, id=queue, task_queue=queue)
        assert await handle.result()  # passed through: the live run is not checked
    history = await handle.fetch_history()
    strict = Replayer(workflows=[ReadsTheClock], data_converter=pydantic_data_converter,
                      workflow_runner=replayer().config()["workflow_runner"])
    result = await strict.replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is not None and "datetime.now" in str(result.replay_failure)
