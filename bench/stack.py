"""The services a benchmark runs on: a Temporal server (dev or time-skipping), embedded PostgreSQL,
an SMTP sink, and an in-process worker with the lifecycle and the no-op comparison workflow."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import asyncpg
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker, WorkflowRunner

from activities.registry import build_activities
from bench.noop import NoopLifecycle, noop_activity
from db.embedded import start_embedded, stop_embedded
from db.migrate import apply_migrations
from db.pool import create_pool
from models.offices import load_offices
from models.mail import SmtpSettings
from models.policy import GUIDELINE_2025
from models.profile import CenterProfile
from models.state import LifecycleInput
from rules import calendar
from tests.fixtures.calendar import write_test_years
from tests.fixtures.temporal import register_search_attributes
from workers.outbox import OutboxDispatcher
from workers.sandbox import workflow_runner as our_runner
from workers.settings import Settings
from workers.smtp_sink import start_sink
from workers.temporal_dev import free_port, start_dev_server
from workflows.lifecycle import CenterLifecycle

TASK_QUEUE = "bench"


@dataclass
class Stack:
    client: Client
    pool: asyncpg.Pool
    settings: Settings
    workdir: Path
    env: WorkflowEnvironment | None  # the time-skipping server, when that is the server
    server_pid: int | None  # the dev server's process, when that is the server

    async def start_center(self, profile: CenterProfile, task_queue: str = TASK_QUEUE) -> Any:
        return await self.client.start_workflow(
            CenterLifecycle.run,
            LifecycleInput(profile=profile, policy=GUIDELINE_2025, offices=load_offices(profile.county)),
            id=f"center-{profile.center_id}", task_queue=task_queue)


@asynccontextmanager
async def stack(server: str = "dev", *, max_cached_workflows: int = 1000,
                workflow_runner: WorkflowRunner | None = None) -> AsyncIterator[Stack]:
    """``server`` is "dev" (the `make run` server, real time) or "skip" (time-skipping test server).

    ``workflow_runner`` defaults to the worker process's sandbox (workers/sandbox.py); bench/scale.py
    passes the SDK's default to compare."""
    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir="/tmp"))
    write_test_years(workdir / "test_working_days.toml", date.today())  # as the tests do (PD2)
    calendar.use_overrides_file(workdir / "test_working_days.toml")
    url = start_embedded(workdir / "pg")
    port = free_port()
    sink = start_sink("127.0.0.1", port, workdir / "mail")
    pool = await create_pool(url)
    await apply_migrations(pool)
    dev = env = None
    try:
        if server == "dev":
            dev = await start_dev_server(workdir / "temporal.sqlite", workdir / "temporal.log",
                                         port=free_port(), headless=True)
            client = await Client.connect(dev.address, namespace=dev.namespace, data_converter=pydantic_data_converter)
        else:
            env = await WorkflowEnvironment.start_time_skipping(
                data_converter=pydantic_data_converter,
                test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"))
            await register_search_attributes(env.client)
            client = env.client
        settings = Settings(smtp_host="127.0.0.1", smtp_port=port)
        stop = asyncio.Event()  # the worker process runs the outbox dispatcher beside the worker
        dispatcher = asyncio.create_task(OutboxDispatcher(pool, SmtpSettings.from_settings(settings)).run(stop))
        try:
            async with Worker(client, task_queue=TASK_QUEUE, workflows=[CenterLifecycle, NoopLifecycle],
                              activities=[*build_activities(pool, settings), noop_activity],
                              max_cached_workflows=max_cached_workflows,
                              workflow_runner=workflow_runner or our_runner()):
                yield Stack(client, pool, settings, workdir, env, dev.process.pid if dev else None)
        finally:
            stop.set()
            await dispatcher
    finally:
        if env is not None:
            await env.shutdown()
        if dev is not None:
            dev.stop()
        await pool.close()
        sink.stop()
        stop_embedded(workdir / "pg")
        shutil.rmtree(workdir, ignore_errors=True)
