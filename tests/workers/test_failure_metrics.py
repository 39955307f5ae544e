"""The failure series the alerts read (deploy/prometheus/alerts.yml) exist under the names they use:
a failing activity and a failing workflow task, counted by the worker's SDK runtime, show up on the
Prometheus endpoint as temporal_activity_execution_failed_total{activity_type} and
temporal_workflow_task_execution_failed_total{workflow_type}."""

from __future__ import annotations

import asyncio
import re
import urllib.request
import uuid
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.common import RetryPolicy
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

from workers import temporal_client
from workers.settings import Settings
from workers.temporal_dev import free_port


@activity.defn(name="always_fails")
async def always_fails() -> None:
    raise RuntimeError("relay refused")


@workflow.defn(name="CallsFailingActivity")
class CallsFailingActivity:
    @workflow.run
    async def run(self) -> None:
        await workflow.execute_activity(always_fails, start_to_close_timeout=timedelta(seconds=5),
                                        retry_policy=RetryPolicy(maximum_attempts=2, initial_interval=timedelta(0)))


@workflow.defn(name="BrokenWorkflowCode")
class BrokenWorkflowCode:
    @workflow.run
    async def run(self) -> None:
        raise KeyError("a bug in workflow code fails the task, not the workflow")


def _metrics(port: int) -> str:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        return response.read().decode()


async def test_failure_counters_carry_the_names_the_alerts_read(ops_server):
    settings = Settings(temporal_address=ops_server.address, metrics_port=free_port(), _env_file=None)
    connected = await temporal_client.connect(settings)  # the process runtime with the Prometheus endpoint
    queue = f"fail-{uuid.uuid4().hex[:8]}"
    async with Worker(connected, task_queue=queue, workflows=[CallsFailingActivity, BrokenWorkflowCode],
                      activities=[always_fails], workflow_runner=UnsandboxedWorkflowRunner()):
        failing = await connected.start_workflow(CallsFailingActivity.run, id=f"fa-{queue}", task_queue=queue)
        broken = await connected.start_workflow(BrokenWorkflowCode.run, id=f"bw-{queue}", task_queue=queue)
        text = ""
        for _ in range(100):
            text = await asyncio.to_thread(_metrics, settings.metrics_port)
            if ("temporal_activity_execution_failed_total{" in text
                    and "temporal_workflow_task_execution_failed_total{" in text):
                break
            await asyncio.sleep(0.2)
        await broken.terminate("test done")
        await failing.terminate("test done")
    assert re.search(r'^temporal_activity_execution_failed_total\{[^}]*activity_type="always_fails"', text, re.MULTILINE)
    assert re.search(r'^temporal_workflow_task_execution_failed_total\{[^}]*workflow_type="BrokenWorkflowCode"',
                     text, re.MULTILINE)
