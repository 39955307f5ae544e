"""Temporal restarted: the dev server (``temporal server start-dev`` on its SQLite file) is killed with
``kill -9`` while lifecycles wait on timers, and started again on the same file and port.

Three lifecycles, each waiting on one of the issue's timers, with the real policy durations:

- **notice end** (D7): through the city evaluation, the notice published today; it ends after 5 working days;
- **a reminder** (PD9): an imported designated center with a 2025 advance, whose PD13 settlement is due
  on 31 December 2026: its 30-day reminder is the next thing due;
- **the year change**: an imported center designated after 30 June 2026 (M1: first evaluated year 2027),
  whose next wake-up is the end of 2026, 24:00 Shanghai (the new run and the 2027 marker).

What is shown: each timer, read from the workflow's history before the kill (its fire time is the event
time plus its duration), is still pending after the restart with the same fire time and the instant the
policy gives; nothing fired early and no workflow task failed; the workflows answer queries; the
**same worker process**, not restarted, reconnects by itself and completes the workflow task of a staff
action sent after the restart; that action re-arms the notice-end timer at the same instant.

What is not shown: these timers firing after the restart. Every policy instant is 24:00 Shanghai (PD1),
hours or days away (the nearest a test can arm is a 30-day reminder of a deadline opened today: tonight's
midnight in Shanghai), the real clock cannot be moved (libfaketime does not reach the Go binary), and
durations are never shrunk. Their firing on time is the time-skipping tests' subject (tests/workflows/).

What stands in for it: a server timer that truly falls due while the server is down, the retry backoff
of the lifecycle's first ``record_outcomes`` (second test). It fires once the server is back, once.
"""

from __future__ import annotations

import asyncio
import signal
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from models.importing import ImportCenter
from models.offices import load_offices
from models.policy import GUIDELINE_2025
from models.state import ActionResult, CenterState, LifecycleInput
from rules.agenda import next_wakeup
from rules.calendar import end_of_day, local_date
from tests.fixtures.processes import stop_processes
from tests.fixtures import factories as f
from tests.review.test_review2_importing import advance, imp
from tests.workers.test_worker_process import _identities, _settings, _start, _worker_process
from tests.workflows.flows import objection, through_evaluation
from workers.temporal_dev import DevServer, free_port, start_dev_server
from workflows.lifecycle import CenterLifecycle

pytestmark = pytest.mark.slow

SLACK = timedelta(seconds=5)  # a timer starts when its workflow task completes, a moment after workflow.now()


def _timer_summary(event: Any) -> str:
    if not event.HasField("user_metadata") or not event.user_metadata.HasField("summary"):
        return ""
    return str(DataConverter.default.payload_converter.from_payload(event.user_metadata.summary, str))


async def pending_timers(handle: Any) -> dict[str, tuple[datetime, str]]:
    """Timers started and neither fired nor cancelled: timer id -> (fire time, summary)."""
    pending: dict[str, tuple[datetime, str]] = {}
    for event in (await handle.fetch_history()).events:
        if event.HasField("timer_started_event_attributes"):
            started = event.timer_started_event_attributes
            fire = event.event_time.ToDatetime(tzinfo=UTC) + started.start_to_fire_timeout.ToTimedelta()
            pending[started.timer_id] = (fire, _timer_summary(event))
        elif event.HasField("timer_fired_event_attributes"):
            pending.pop(event.timer_fired_event_attributes.timer_id, None)
        elif event.HasField("timer_canceled_event_attributes"):
            pending.pop(event.timer_canceled_event_attributes.timer_id, None)
    return pending


async def failed_tasks(handle: Any) -> list[str]:
    return [str(e.workflow_task_failed_event_attributes.failure.message)
            for e in (await handle.fetch_history()).events if e.HasField("workflow_task_failed_event_attributes")]


async def waiting_on(handle: Any, instant: datetime, what: str) -> tuple[str, datetime, str]:
    """Wait until the lifecycle's one pending timer fires at ``instant`` (the policy's); return it."""
    timers: dict[str, tuple[datetime, str]] = {}
    for _ in range(150):
        timers = await pending_timers(handle)
        if len(timers) == 1 and abs(next(iter(timers.values()))[0] - instant) <= SLACK:
            (timer_id, (fire, summary)), = timers.items()
            return timer_id, fire, summary
        await asyncio.sleep(0.2)
    raise AssertionError(f"{what}: no timer pending for {instant.isoformat()}; pending {timers}")


async def _start_imported(client: Client, task_queue: str, **changes: Any) -> Any:
    """An existing center brought in with its past (rules/importing.py); the workflow checks it itself."""
    imported: ImportCenter = imp(request_id=f.rid(), profile=f.profile_data(), **changes)
    profile = imported.profile
    return await client.start_workflow(
        CenterLifecycle.run, LifecycleInput(profile=profile, policy=GUIDELINE_2025,
                                            offices=load_offices(profile.county), imported=imported),
        id=f"center-{profile.center_id}", task_queue=task_queue)


async def _kill_and_restart(server: DevServer, db_file: Path, log_dir: Path) -> DevServer:
    server.process.send_signal(signal.SIGKILL)
    server.process.wait()
    server.stop()  # closes its log; the process is gone already
    port = int(server.address.rsplit(":", 1)[1])
    return await start_dev_server(db_file, log_dir / "t-after-kill.log", port=port, headless=True)


@pytest.mark.timeout(420)
async def test_temporal_server_killed_and_restarted_timers_stay_pending_with_their_fire_times(
        database_url, smtp_server, tmp_path):
    db_file = tmp_path / "temporal.sqlite"
    server = await start_dev_server(db_file, tmp_path / "t.log", port=free_port(), headless=True)
    worker = None
    try:
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        settings = _settings(server, database_url, smtp_server)
        worker = await _worker_process(settings, tmp_path / "worker.log")

        notice = await _start(client, settings.task_queue)
        await through_evaluation(notice)
        await notice.execute_update("publish_notice", f.notice(local_date(datetime.now(UTC))))
        notice_ends = (await notice.query("state", result_type=CenterState)).notice.ends_at

        small = {"amount_yuan": "1000.00"}  # PD6: the test database's 2025 cap is shared with other tests
        reminded = await _start_imported(client, settings.task_queue, designated_on="2025-05-20",
                                         grades={"2025": "合格"}, advances=[advance(2025, "2025-06-01", **small)])
        year_end = end_of_day(date(2026, 12, 31))
        new_year = await _start_imported(client, settings.task_queue, designated_on="2026-08-20", grades={})

        settlement = (await _until_state(reminded, lambda s: s.deadline("settlement-2025") is not None)).deadline(
            "settlement-2025")
        expected = {
            "notice end": (notice, notice_ends),
            "PD9 reminder 30 days": (reminded, settlement.due_at - timedelta(days=30)),
            "year change": (new_year, year_end),
        }
        assert local_date(datetime.now(UTC)) < date(2026, 12, 1), "the reminder and the year change must lie ahead"
        before: dict[str, tuple[str, datetime, str]] = {}
        for what, (handle, instant) in expected.items():
            before[what] = await waiting_on(handle, instant, what)
            state = await handle.query("state", result_type=CenterState)
            assert next_wakeup(state)[0] == instant, (what, next_wakeup(state))  # the policy's instant
        assert "D7" in before["notice end"][2] and "reminder 30d" in before["PD9 reminder 30 days"][2], before
        assert "new year" in before["year change"][2], before
        revisions = {what: (await h.query("state", result_type=CenterState)).revision for what, (h, _) in expected.items()}

        server = await _kill_and_restart(server, db_file, tmp_path)
        assert worker.returncode is None, "the worker died with the server"

        for what, (handle, _) in expected.items():
            assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING, what
            timer_id, fire, summary = before[what]
            assert await pending_timers(handle) == {timer_id: (fire, summary)}, f"{what}: timer changed or fired"
            state = await handle.query("state", result_type=CenterState)  # the worker answers
            assert state.revision == revisions[what], what

        # A staff action after the restart: the same worker process completes its workflow task.
        answer = await asyncio.wait_for(
            notice.execute_update("file_objection", objection(), result_type=ActionResult), 120)
        assert answer.request_id
        assert (await notice.query("state", result_type=CenterState)).objections, "the objection was not taken"
        assert f":{worker.pid}" in (await _identities(notice))[-1], "not completed by the worker that saw the kill"
        _, fire, _ = await waiting_on(notice, notice_ends, "notice end after the action")
        assert abs(fire - before["notice end"][1]) <= SLACK  # re-armed for the same instant
        for what, (handle, _) in expected.items():
            assert not await failed_tasks(handle), what
    finally:
        await stop_processes(worker)
        server.stop()


async def _until_state(handle: Any, predicate: Any) -> CenterState:
    state = await handle.query("state", result_type=CenterState)
    for _ in range(150):
        if predicate(state):
            return state
        await asyncio.sleep(0.2)
        state = await handle.query("state", result_type=CenterState)
    raise AssertionError(f"not reached: agenda {[d.id for d in state.agenda]}")


async def _pending_record(handle: Any) -> Any:
    """The lifecycle's pending ``record_outcomes`` activity (attempt, state, next attempt), or None."""
    pending = (await handle.describe()).raw_description.pending_activities
    return next((a for a in pending if a.activity_type.name == "record_outcomes"), None)


async def _audit_actions(database_url: str, center_id: str) -> list[str]:
    conn = await asyncpg.connect(database_url)
    try:
        return [r["action"] for r in await conn.fetch(
            "SELECT action FROM audit_log WHERE center_id = $1 ORDER BY at, key", center_id)]
    finally:
        await conn.close()


@pytest.mark.timeout(420)
async def test_temporal_server_down_while_a_retry_timer_falls_due_it_fires_once_after_the_restart(
        database_url, smtp_server, tmp_path, monkeypatch):
    """A server timer that truly falls due while the server is down: not a policy timer (none is due within
    a test, see the module docstring) but the retry backoff of the lifecycle's own first step. The step's
    ``record_outcomes`` cannot write (a lock on audit_log, and DB_COMMAND_TIMEOUT=1 on the worker), so the
    server holds its next attempt on a timer. The server is killed with that attempt seconds ahead, the lock
    released, and the server started again only after the attempt's time has passed: the attempt runs once
    the server is back, and the step is recorded once."""
    monkeypatch.setenv("DB_COMMAND_TIMEOUT", "1")  # a blocked INSERT fails fast, so the backoff grows fast
    db_file = tmp_path / "temporal.sqlite"
    server = await start_dev_server(db_file, tmp_path / "t.log", port=free_port(), headless=True)
    worker = None
    lock = await asyncpg.connect(database_url)
    try:
        client = await Client.connect(server.address, data_converter=pydantic_data_converter)
        settings = _settings(server, database_url, smtp_server)
        worker = await _worker_process(settings, tmp_path / "worker.log")
        await lock.execute("BEGIN")
        await lock.execute("LOCK TABLE audit_log IN SHARE MODE")  # record_outcomes' INSERT waits, then times out
        handle = await _start(client, settings.task_queue)
        center_id = handle.id.removeprefix("center-")
        record = None
        for _ in range(300):  # until the server holds an attempt at least 4 s ahead (backoff 1, 2, 4, 8 s ...)
            record = await _pending_record(handle)
            if record is not None and record.HasField("next_attempt_schedule_time"):
                ahead = record.next_attempt_schedule_time.ToDatetime(tzinfo=UTC) - datetime.now(UTC)
                if ahead >= timedelta(seconds=4):
                    break
            await asyncio.sleep(0.2)
        else:
            raise AssertionError(f"no retry backoff of record_outcomes seen: {record}")
        due_at = record.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
        attempt = record.attempt

        server.process.send_signal(signal.SIGKILL)
        server.process.wait()
        server.stop()
        await lock.execute("ROLLBACK")  # PostgreSQL would take the record now; only the timer is missing
        await asyncio.sleep(max((due_at - datetime.now(UTC)).total_seconds(), 0) + 2)
        assert datetime.now(UTC) > due_at  # the attempt fell due while the server was down
        assert await _audit_actions(database_url, center_id) == [], "recorded without the server"
        server = await start_dev_server(db_file, tmp_path / "t-after-kill.log",
                                        port=int(settings.temporal_address.rsplit(":", 1)[1]), headless=True)

        for _ in range(300):
            if await _pending_record(handle) is None and await _audit_actions(database_url, center_id):
                break
            await asyncio.sleep(0.2)
        audits = await _audit_actions(database_url, center_id)
        assert len(audits) == 1, f"the opening step recorded {len(audits)} times: {audits}"
        started = [e.activity_task_started_event_attributes.attempt for e in (await handle.fetch_history()).events
                   if e.HasField("activity_task_started_event_attributes")]
        assert started[:1] == [attempt], f"the retry held by the server was not the one that ran: {started}"
        assert worker.returncode is None and not await failed_tasks(handle)
        assert (await handle.query("state", result_type=CenterState)).center_id == center_id
    finally:
        if not lock.is_closed():
            await lock.close()
        await stop_processes(worker)
        server.stop()
