"""M5: the monthly status board reaches the city bureau (all centers) and each county (its own)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

from temporalio.worker import Worker

from activities.registry import build_activities
from workers.sandbox import workflow_runner
from db.outcomes import record_batch
from models.effects import CenterSnapshot, OutcomeBatch
from tests.fixtures.temporal import replayer
from rules.calendar import calendar_alert, default_coverage, local_date
from workers.schedules import ensure_schedules
from workflows.monitoring import SCHEDULE_ID, MonitoringDigest


def snapshot(center_id: str, county: str, phase: str, due: datetime | None) -> CenterSnapshot:
    return CenterSnapshot(center_id=center_id, opened_at=datetime.now(timezone.utc), revision=1, name=f"中心 {center_id}", county=county,
                          field="new_materials", route="directed", phase=phase, credit_code="X", lead_unit="Y",
                          next_deadline_at=due, updated_at=datetime.now(timezone.utc))


async def run_digest(env, db_pool, worker_settings, tag: str):
    """Three centers on the board (one overdue, one ended), then one MonitoringDigest run; its handle."""
    now = await env.get_current_time()
    rows = [snapshot(f"m5-{tag}-a", "daishan", "designated", now - timedelta(days=2)),
            snapshot(f"m5-{tag}-b", "shengsi", "county_review", now + timedelta(days=20)),
            snapshot(f"m5-{tag}-c", "shengsi", "withdrawn", None)]
    async with db_pool.acquire() as conn:
        for row in rows:
            await record_batch(conn, OutcomeBatch(center_id=row.center_id, snapshot=row))
    task_queue = f"m5-{tag}"
    async with Worker(env.client, task_queue=task_queue, workflows=[MonitoringDigest], workflow_runner=workflow_runner(),
                      activities=build_activities(db_pool, worker_settings)):
        handle = await env.client.start_workflow(MonitoringDigest.run, id=f"m5-{tag}", task_queue=task_queue)
        await handle.result()
    return handle


async def test_m5_status_board_goes_to_city_and_each_county(env, db_pool, worker_settings, smtp_server,
                                                            shipped_calendar_only):
    tag = uuid.uuid4().hex[:6]
    now = await env.get_current_time()
    async with db_pool.acquire() as conn:  # a board is sent once a month (its key): drop other tests' boards
        await conn.execute("DELETE FROM outbox WHERE key LIKE 'monitoring:%'")
    handle = await run_digest(env, db_pool, worker_settings, tag)
    assert await handle.result() >= 3
    await replayer().replay_workflow(await handle.fetch_history())  # determinism guard
    city = await smtp_server.wait_for(lambda m: "kjj@zhoushan.example" in str(m["To"]) and f"m5-{tag}-a" in _text(m), timeout=30)
    assert f"m5-{tag}-b" in _text(city) and f"m5-{tag}-c" not in _text(city)
    assert "OVERDUE" in _text(city) and "[M5]" in str(city["Subject"])
    # PD2: the city's board opens with the calendar warning exactly when the data runs out soon.
    covered_through, problem = default_coverage(local_date(datetime.now(timezone.utc)))
    alert = calendar_alert(covered_through, problem, local_date(now))
    assert ("[PD2 calendar]" in str(city["Subject"])) == (alert is not None)
    if alert:
        assert _text(city).startswith(alert.splitlines()[0])
    shengsi = await smtp_server.wait_for(lambda m: "kj-shengsi@zhoushan.example" in str(m["To"]) and f"m5-{tag}-b" in _text(m), timeout=30)
    assert f"m5-{tag}-a" not in _text(shengsi)


async def test_m5_worker_keeps_a_monthly_schedule(dev_client):
    await ensure_schedules(dev_client, "innovation-centers")
    await ensure_schedules(dev_client, "innovation-centers")  # idempotent
    description = await dev_client.get_schedule_handle(SCHEDULE_ID).describe()
    spec = description.schedule.spec
    assert spec.time_zone_name == "Asia/Shanghai"
    assert spec.calendars[0].day_of_month[0].start == 1 and spec.calendars[0].hour[0].start == 9


def _text(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()
