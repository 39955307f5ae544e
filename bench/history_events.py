"""History events per center-year of a decade-long lifecycle (issue 4).

Runs the ten-year scenario (tests/workflows/scenarios.py) on the time-skipping server with the
real worker, a real PostgreSQL (embedded, in a temporary directory) and a local SMTP sink, then
walks the continue-as-new chain and prints events per run and per center-year, side by side with
the 2,000-event budget per run. A figure to watch, not a pass/fail test.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import uuid
from datetime import UTC, date
from pathlib import Path

from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from activities.registry import build_activities
from db.embedded import start_embedded, stop_embedded
from db.migrate import apply_migrations
from db.pool import create_pool
from models.directory import load_offices
from models.policy import GUIDELINE_2025
from models.state import LifecycleInput
from rules.calendar import local_date
from tests.fixtures import factories as f
from rules import calendar
from tests.fixtures.calendar import write_test_years
from tests.fixtures.temporal import chain_histories, register_search_attributes
from tests.workflows.scenarios import ten_year_lifecycle
from tests.workflows.test_operating import MAX_EVENTS_PER_RUN
from workers.settings import Settings
from workers.smtp_sink import start_sink
from workers.temporal_dev import free_port
from workflows.lifecycle import CenterLifecycle


async def main() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="bench-", dir="/tmp"))
    # Like the tests: the scenario publishes a notice today, which may need a year the shipped
    # working-day data lacks (made-up Monday-Friday weeks, for this run only).
    write_test_years(workdir / "test_working_days.toml", date.today())
    os.environ[calendar.OVERRIDES_ENV] = str(workdir / "test_working_days.toml")
    calendar.default_calendar.cache_clear()
    pg_dir = workdir / "pg"
    url = start_embedded(pg_dir)
    port = free_port()
    sink = start_sink("127.0.0.1", port, workdir / "mail")
    pool = await create_pool(url)
    await apply_migrations(pool)
    env = await WorkflowEnvironment.start_time_skipping(
        data_converter=pydantic_data_converter,
        test_server_existing_path=str(Path(sys.executable).parent / "temporal-test-server"),
    )
    try:
        await register_search_attributes(env.client)
        settings = Settings(smtp_host="127.0.0.1", smtp_port=port)
        async with Worker(env.client, task_queue="bench", workflows=[CenterLifecycle],
                          activities=build_activities(pool, settings)):
            profile = f.profile(f"bench-{uuid.uuid4().hex[:6]}")
            handle = await env.client.start_workflow(
                CenterLifecycle.run, LifecycleInput(profile=profile, policy=GUIDELINE_2025,
                                                    offices=load_offices(profile.county)),
                id=f"center-{profile.center_id}", task_queue="bench")
            state = await ten_year_lifecycle(handle, env)
            histories = await chain_histories(env.client, handle.id, handle.result_run_id)
        report(histories, state)
    finally:
        await env.shutdown()
        await pool.close()
        sink.stop()
        stop_embedded(pg_dir)
        shutil.rmtree(workdir, ignore_errors=True)


def report(histories: list, state) -> None:
    """Events per run (labelled by the local year it started in) and per center-year."""
    counts = [len(h.events) for h in histories]
    starts = [local_date(h.events[0].event_time.ToDatetime(tzinfo=UTC)) for h in histories]
    started = histories[0].events[0].event_time.ToDatetime(tzinfo=UTC)
    ended = histories[-1].events[-1].event_time.ToDatetime(tzinfo=UTC)
    years = (ended - started).days / 365.25
    total = sum(counts)
    yearly = counts[1:-1] or counts  # whole calendar years: not the designation run, not the last one
    print(f"history events of a ten-year lifecycle (designated {state.designation.on}, "
          f"{len(state.operating.grades)} yearly grades, {len(state.operating.rectifications)} rectification, "
          f"{years:.1f} years of workflow time)")
    print(f"  runs in the continue-as-new chain: {len(counts)}")
    for day, count in zip(starts, counts):
        print(f"    run from {day}: {count:5d} events")
    print(f"  largest run: {max(counts)} events = {max(counts) / MAX_EVENTS_PER_RUN:.1%} of the "
          f"{MAX_EVENTS_PER_RUN}-event budget per run")
    print(f"  whole calendar-year runs: {min(yearly)}..{max(yearly)} events, mean {sum(yearly) / len(yearly):.0f}")
    print(f"  total events: {total} over {years:.1f} center-years = {total / years:.0f} events per center-year")
