"""The worker as operators run it, on a real Temporal dev server of this module's own:

- a changed schedule spec reaches the server when the worker restarts (create or update);
- the Prometheus endpoint serves `temporal_*` series after a lifecycle step, /healthz and /readyz answer;
- two worker processes share the task queue; one is killed mid-flight and every lifecycle completes
  on the other.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import sys
import urllib.error
import urllib.request
import uuid
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import (
    Client, ScheduleCalendarSpec, ScheduleOverlapPolicy, SchedulePolicy, ScheduleRange, ScheduleSpec,
    WorkflowExecutionStatus,
)

from models.offices import load_offices
from models.policy import GUIDELINE_2025
from models.profile import CenterProfile
from models.state import LifecycleInput
from tests.fixtures.processes import stop_processes
from tests.centers.cli_support import example
from tests.fixtures import factories as f
from workers import main as worker_main
from workers import schedules
from workers.settings import Settings
from workers.temporal_dev import DevServer, free_port
from workflows.lifecycle import CenterLifecycle
from workflows.monitoring import SCHEDULE_ID

WORKER = Path(sys.executable).parent / "centers-worker"


def _settings(server: DevServer, database_url: str, smtp_server: Any, **extra: Any) -> Settings:
    return Settings(temporal_address=server.address, task_queue=f"ops-{uuid.uuid4().hex[:8]}",
                    database_url=database_url, smtp_host="127.0.0.1", smtp_port=smtp_server.port,
                    _env_file=None, **extra)


async def _run_until_ready(settings: Settings) -> tuple[asyncio.Task[None], asyncio.Event]:
    stop, ready = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(worker_main.run_worker(settings, stop, ready))
    waiter = asyncio.create_task(ready.wait())
    await asyncio.wait({task, waiter}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # raises what went wrong
    assert ready.is_set(), "worker not ready within 60 s"
    return task, stop


@pytest.fixture(autouse=True)
def _keep_pytest_logging(monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process workers must not swap the root log handler under pytest."""
    monkeypatch.setattr(worker_main, "configure_logging", lambda *a, **k: None)


async def _start(client: Client, task_queue: str) -> Any:
    profile = CenterProfile.model_validate(f.profile_data())
    return await client.start_workflow(
        CenterLifecycle.run, LifecycleInput(profile=profile, policy=GUIDELINE_2025, offices=load_offices(profile.county)),
        id=f"center-{profile.center_id}", task_queue=task_queue)


def _application() -> dict[str, Any]:
    payload = example("submit_application")
    payload.pop("partner_agreements")  # the factory profile has no partners (M6)
    return {**payload, "request_id": f"apply-{uuid.uuid4().hex[:8]}"}


# -- schedules ---------------------------------------------------------------------------------------


async def test_m5_changed_digest_spec_reaches_the_server_on_restart(ops_server, ops_client, database_url,
                                                                    smtp_server, monkeypatch):
    """An older release made the schedule with another spec; the restarted worker brings it up to date."""
    settings = _settings(ops_server, database_url, smtp_server)
    current = schedules.monitoring_schedule

    def old_release(task_queue: str):
        schedule = current(task_queue)
        schedule.spec = ScheduleSpec(calendars=[ScheduleCalendarSpec(day_of_month=[ScheduleRange(2)],
                                                                     hour=[ScheduleRange(8)])],
                                     time_zone_name="Asia/Shanghai")
        schedule.policy = SchedulePolicy(overlap=ScheduleOverlapPolicy.ALLOW_ALL)
        return schedule

    monkeypatch.setattr(schedules, "monitoring_schedule", old_release)
    task, stop = await _run_until_ready(settings)
    stop.set()
    await task
    before = (await ops_client.get_schedule_handle(SCHEDULE_ID).describe()).schedule
    assert list(before.spec.calendars[0].day_of_month) == [ScheduleRange(2, 2, 1)]

    monkeypatch.setattr(schedules, "monitoring_schedule", current)  # the new release
    task, stop = await _run_until_ready(settings)
    stop.set()
    await task
    after = (await ops_client.get_schedule_handle(SCHEDULE_ID).describe()).schedule
    calendar = after.spec.calendars[0]
    assert (list(calendar.day_of_month), list(calendar.hour)) == ([ScheduleRange(1, 1, 1)], [ScheduleRange(9, 9, 1)])
    assert after.spec.time_zone_name == "Asia/Shanghai"
    assert after.policy.overlap == ScheduleOverlapPolicy.SKIP  # one digest at a time
    assert after.policy.catchup_window == schedules.DIGEST_CATCHUP  # a missed digest is sent within a week
    # and a third start changes nothing
    assert await schedules.ensure_schedule(ops_client, SCHEDULE_ID, current(settings.task_queue)) == "unchanged"


# -- metrics and health ------------------------------------------------------------------------------


def _get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as err:
        return err.code, err.read().decode()


async def test_prometheus_metrics_and_health_after_a_lifecycle_step(ops_server, database_url, smtp_server):
    settings = _settings(ops_server, database_url, smtp_server, metrics_port=free_port(), health_port=free_port())
    health = f"http://127.0.0.1:{settings.health_port}"
    task, stop = await _run_until_ready(settings)
    try:
        worker_client = await worker_main.connect_client(settings)  # the same SDK runtime: its metrics
        handle = await _start(worker_client, settings.task_queue)
        await handle.execute_update("submit_application", _application())  # a lifecycle step
        # M5's digest runs ordinary activities (a lifecycle's facts and records are local first, issue 11)
        await worker_client.execute_workflow("MonitoringDigest", id=f"digest-{uuid.uuid4().hex[:8]}",
                                             task_queue=settings.task_queue)
        status, text = await asyncio.to_thread(_get, f"http://127.0.0.1:{settings.metrics_port}/metrics")
        assert status == 200
        series = {line.split("{")[0].split(" ")[0] for line in text.splitlines() if line.startswith("temporal_")}
        # what deploy/grafana and deploy/prometheus read (Prometheus naming: _seconds, _total)
        assert {"temporal_workflow_task_schedule_to_start_latency_seconds_bucket",
                "temporal_activity_schedule_to_start_latency_seconds_bucket",
                "temporal_activity_execution_latency_seconds_bucket",
                "temporal_workflow_task_execution_latency_seconds_bucket"} <= series, sorted(series)
        assert f'task_queue="{settings.task_queue}"' in text
        # the service's own gauges (deploy/prometheus alerts): outbox and calendar
        assert re.search(r"^centers_outbox_unsent(\{[^}]*\})? \d+", text, re.MULTILINE), text[-2000:]
        assert re.search(r"^centers_outbox_failed(\{[^}]*\})? \d+", text, re.MULTILINE)
        assert re.search(r"^centers_outbox_oldest_unsent_age_seconds(\{[^}]*\})? [\d.e+-]+", text, re.MULTILINE)
        days = re.search(r"^centers_calendar_days_left(?:\{[^}]*\})? (-?\d+)", text, re.MULTILINE)
        assert days and int(days.group(1)) != 0
        assert await asyncio.to_thread(_get, f"{health}/healthz") == (200, '{"status": "alive"}')
        assert (await asyncio.to_thread(_get, f"{health}/readyz"))[0] == 200
        assert (await asyncio.to_thread(_get, f"{health}/nope"))[0] == 404
        await handle.terminate("test done")
    finally:
        stop.set()
        await task


# -- two workers ---------------------------------------------------------------------------------------


async def _worker_process(settings: Settings, log: Path) -> asyncio.subprocess.Process:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "SMTP_", "DATABASE_"))}
    environ.update(TEMPORAL_ADDRESS=settings.temporal_address, TASK_QUEUE=settings.task_queue,
                   DATABASE_URL=settings.database_url or "", SMTP_HOST=settings.smtp_host,
                   SMTP_PORT=str(settings.smtp_port), LOG_FORMAT="json", HEALTH_PORT=str(free_port()))
    process = await asyncio.create_subprocess_exec(str(WORKER), env=environ, cwd=log.parent,
                                                   stdout=log.open("wb"), stderr=asyncio.subprocess.STDOUT)
    ready = f"http://127.0.0.1:{environ['HEALTH_PORT']}/readyz"
    for _ in range(300):
        if process.returncode is not None:
            raise AssertionError(f"worker exited {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if (await asyncio.to_thread(_get, ready))[0] == 200:
                return process
        except OSError:
            pass
        await asyncio.sleep(0.2)
    raise AssertionError(f"worker not ready:\n{log.read_text()[-3000:]}")


async def _identities(handle: Any) -> list[str]:
    """Who completed each workflow task, in order."""
    history = await handle.fetch_history()
    return [e.workflow_task_completed_event_attributes.identity for e in history.events
            if e.HasField("workflow_task_completed_event_attributes")]


async def test_two_workers_one_killed_every_lifecycle_completes_on_the_other(ops_server, ops_client, database_url,
                                                                            smtp_server, tmp_path):
    settings = _settings(ops_server, database_url, smtp_server)
    first = await _worker_process(settings, tmp_path / "first.log")
    second = await _worker_process(settings, tmp_path / "second.log")
    try:
        handles = [await _start(ops_client, settings.task_queue) for _ in range(6)]
        await asyncio.gather(*(h.execute_update("submit_application", _application()) for h in handles))
        served_by = {i for h in handles for i in await _identities(h)}
        assert any(f":{first.pid}" in i for i in served_by), served_by  # both took part before the kill
        assert any(f":{second.pid}" in i for i in served_by), served_by

        first.send_signal(signal.SIGKILL)  # no graceful shutdown: its cached workflows are simply gone
        await first.wait()
        withdraw = example("withdraw")
        await asyncio.gather(*(
            asyncio.wait_for(h.execute_update("withdraw", {**withdraw, "request_id": f"w-{uuid.uuid4().hex[:8]}"}),
                             120) for h in handles))
        for handle in handles:
            state = await asyncio.wait_for(handle.result(), 60)
            assert state.phase.value == "withdrawn"
            assert (await handle.describe()).status == WorkflowExecutionStatus.COMPLETED
            assert f":{second.pid}" in (await _identities(handle))[-1]  # finished by the survivor
    finally:
        await stop_processes(first, second)
    assert second.returncode == 0  # the survivor stops cleanly on SIGTERM
