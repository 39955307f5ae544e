"""Time before actions, and no mail or database outage that holds up a deadline (issue 9), end to
end on the time-skipping server with the real policy durations, real PostgreSQL and a real SMTP
server that is down, then up.
"""

from __future__ import annotations

import asyncio
import socket
from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from aiosmtpd.controller import Controller
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.monitoring import MonitoringActivities
from db.ledger import list_entries
from db.outcomes import list_audit, list_outbox
from rules.calendar import end_of_day
from rules.monitoring import status_digests
from tests.centers.cli_support import cli
from tests.fixtures import factories as f
from tests.fixtures.database import audit_writes_refused
from tests.fixtures.mail import SmtpCollector
from tests.fixtures.temporal import chain_histories
from tests.workflows.flows import advance_and_settle, state_of, today, until
from tests.workflows.scenarios import designate_for_next_year, report_and_grade, sleep_until_local
from workers.settings import Settings


class SwitchableSmtp:
    """A real SMTP server on a fixed port that a test turns on late: until then, connections fail."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.collector = SmtpCollector()
        self.collector.port = self.port
        self.controller: Controller | None = None

    def start(self) -> None:
        self.controller = Controller(self.collector, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        if self.controller is not None:
            self.controller.stop()
            self.controller = None


@pytest.fixture
def smtp_down():
    server = SwitchableSmtp()
    yield server
    server.stop()


@pytest.fixture
def worker_settings(smtp_down: SwitchableSmtp) -> Settings:
    """This module's worker and dispatcher talk to the switchable server, which starts down."""
    return Settings(smtp_host="127.0.0.1", smtp_port=smtp_down.port)


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    return fresh_db_pool  # the advances here must not share the yearly cap (PD6) with other tests


def on_time(at, due) -> bool:
    """A timer fires within milliseconds of its due time; an outage would make it hours."""
    return timedelta(0) <= at - due < timedelta(seconds=1)


def bureau() -> dict[str, Any]:
    return f.actor("city_bureau", name="张华")


async def every_message_arrives_once(db_pool, smtp: SwitchableSmtp, center_id: str) -> list:
    """Turn SMTP on; every outbox row of the center is delivered, each Message-ID exactly once."""
    async with db_pool.acquire() as conn:
        waiting = await list_outbox(conn, center_id)
    assert waiting and all(o.sent_at is None for o in waiting)
    assert any(o.attempts > 0 and o.last_error for o in waiting), "the dispatcher tried while SMTP was down"
    smtp.start()
    for o in waiting:
        await smtp.collector.wait_for(lambda m, k=o.message_id: m["Message-ID"] == k, timeout=30)
    await asyncio.sleep(1.5)  # a duplicate would come within the dispatcher's next rounds
    ids = [m["Message-ID"] for m in smtp.collector.messages]
    assert all(ids.count(o.message_id) == 1 for o in waiting)
    async with db_pool.acquire() as conn:
        assert all(o.sent_at is not None for o in await list_outbox(conn, center_id))
    return waiting


async def test_s3_lapses_at_midnight_across_new_year_while_smtp_is_down(centers, env, db_pool, smtp_down,
                                                                        blank_database_url):
    """PD9, S3, PD5: the first advance is granted on 31 December, so its 2-year deadline falls at a
    year change. SMTP is down all along: the lapse still happens at its due time (not when mail
    flows again), a later advance is refused, and every message arrives once when SMTP returns."""
    profile = f.profile()
    handle = await centers.start(profile)
    year = (await today(env)).year
    await sleep_until_local(env, date(year, 12, 31))
    await handle.execute_update("grant_advance", {"actor": bureau(), "request_id": f.rid(),
                                                  "amount_yuan": "500000", "payment_ref": "舟科拨〔2026〕12号"})
    s3 = (await state_of(handle)).deadline("s3-designation")
    assert s3 is not None
    await env.sleep(s3.due_at - await env.get_current_time() + timedelta(minutes=5))
    state = await until(handle, lambda s: s.subsidy.s3_lapsed, "S3 lapse")
    assert on_time(state.subsidy.s3_lapsed_at, s3.due_at), "decided at its due time, not when mail flowed again"
    runs = await chain_histories(centers.client, handle.id, handle.first_execution_run_id)
    assert len(runs) >= 3, "continued as new at each year change, with SMTP down"

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update("grant_advance", {"actor": bureau(), "request_id": f.rid(),
                                                      "amount_yuan": "100000", "payment_ref": "舟科拨〔2029〕1号"})
    assert isinstance(refused.value.cause, ApplicationError) and refused.value.cause.details[0]["rule_id"] == "S3"
    async with db_pool.acquire() as conn:
        lapse = [a for a in await list_audit(conn, profile.center_id) if a.action == "due:s3_deadline"]
        advances = [e for e in await list_entries(conn, profile.center_id) if e.kind == "advance"]
    assert len(lapse) == 1 and on_time(lapse[0].at, s3.due_at) and len(advances) == 1
    shown = await cli("show", profile.center_id, client=centers.client, database_url=blank_database_url)
    assert shown.status == 0 and "undelivered mail" in shown.out and "retrying" in shown.out

    sent = await every_message_arrives_once(db_pool, smtp_down, profile.center_id)
    for suffix in ("s3-designation:remind:30", "s3-designation:remind:7", "s3-designation:remind:1",
                   "s3-designation:lapsed"):
        assert sum(o.key.endswith(suffix) for o in sent) == 1, suffix


async def test_m2_rectification_period_ends_on_time_while_smtp_is_down(centers, env, db_pool, smtp_down):
    """M2, PD4: the rectification period runs out while SMTP is down; its end is decided at its due
    time, and the reminders and the notice arrive once when SMTP returns."""
    profile = f.profile()
    handle = await centers.start(profile)
    designated = await designate_for_next_year(handle, env)
    first_year = designated.designation.on.year + 1
    state = await report_and_grade(handle, env, first_year, "不合格")
    rectification = next(d for d in state.agenda if d.kind == "rectification")
    await env.sleep(rectification.due_at - await env.get_current_time() + timedelta(minutes=5))
    state = await until(handle, lambda s: s.deadline(rectification.id) is None or s.deadline(rectification.id).overdue,
                        "rectification end")
    async with db_pool.acquire() as conn:
        ended = [a for a in await list_audit(conn, profile.center_id) if a.action == "due:rectification"]
    assert len(ended) == 1 and on_time(ended[0].at, rectification.due_at)
    sent = await every_message_arrives_once(db_pool, smtp_down, profile.center_id)
    assert any("remind" in o.key and rectification.id in o.key for o in sent)


async def test_m5_board_counts_a_real_overdue_clawback(centers, env, db_pool, smtp_down):
    """M5: the snapshot a real lifecycle writes carries its overdue deadline, and the board counts it."""
    profile = f.profile()
    handle = await centers.start(profile)
    state = await advance_and_settle(handle, env, "1000000", "600000")
    clawback = next(d for d in state.agenda if d.id.startswith("clawback"))
    await env.sleep(clawback.due_at - await env.get_current_time() + timedelta(hours=1))
    await until(handle, lambda s: s.deadline(clawback.id).overdue, "clawback overdue")
    board = await ActivityEnvironment().run(MonitoringActivities(db_pool).load_status_board)
    row = next(c for c in board.centers if c.center_id == profile.center_id)
    assert row.overdue_count == 1 and row.oldest_overdue_at == clawback.due_at
    now = await env.get_current_time()
    city = status_digests(board.centers, now, board.city_email, board.county_emails)[0]
    assert "逾期事项 1 项" in city.body and "1 with an overdue deadline" in city.body
    line = next(line for line in city.body.splitlines() if profile.center_id in line)
    assert "OVERDUE 1" in line


async def test_a_data_error_in_record_outcomes_does_not_freeze_the_lifecycle(centers, env, db_pool, smtp_down):
    """SQLSTATE class 22 from PostgreSQL is not retried: the rest of the step is saved, staff see what
    is missing (state, audit note), and the next action goes through."""
    profile = f.profile()
    async with audit_writes_refused(db_pool, profile.center_id, sqlstate="22021", action="submit_application"):
        handle = await centers.start(profile)
        result = await handle.execute_update("submit_application", f.application())
        assert result["phase"] == "county_review"
        state = await until(handle, lambda s: s.record_failures, "failure noted")
        assert "22021" in state.record_failures[0].error
        await handle.execute_update("record_county_review", f.county_review())
        async with db_pool.acquire() as conn:
            audit = await list_audit(conn, profile.center_id)
            outbox = await list_outbox(conn, profile.center_id)
        assert [a.action for a in audit] == ["opened", "record_failed", "record_county_review"]
        assert any("D4" == o.rule_id for o in outbox), "the step's mail was saved row by row"


async def test_an_action_at_the_year_end_is_neither_lost_nor_half_applied(centers, env, db_pool, smtp_down):
    """A signal and an update sent as the run continues-as-new at the year change: each is either
    applied whole (state, ledger, audit, mail) or refused whole, and the update is answered."""
    profile = f.profile()
    handle = await centers.start(profile)
    year = (await today(env)).year
    await env.sleep(end_of_day(date(year, 12, 31)) - await env.get_current_time() - timedelta(seconds=2))
    signal_rid, update_rid = f.rid(), f.rid()
    grant_now = {"actor": bureau(), "amount_yuan": "300000", "payment_ref": "舟科拨〔2026〕20号"}
    skip = asyncio.create_task(env.sleep(timedelta(seconds=10)))
    await handle.signal("grant_advance", grant_now | {"request_id": signal_rid})
    try:
        answer = await handle.execute_update("grant_advance", grant_now | {"request_id": update_rid})
        assert answer["request_id"] == update_rid
    except WorkflowUpdateFailedError as refused:
        assert refused.cause.type == "ActionRefused"
    await skip
    state = await until(handle, lambda s: signal_rid in s.answered or any(r.request_id == signal_rid for r in s.rejected),
                        "signal handled")
    async with db_pool.acquire() as conn:
        ledger = await list_entries(conn, profile.center_id)
        audit = await list_audit(conn, profile.center_id)
    for rid in (signal_rid, update_rid):
        accepted = rid in state.answered
        rows = [a for a in audit if a.request_id == rid]
        assert [a.outcome for a in rows] == ["accepted" if accepted else "rejected"], (rid, rows)
        assert sum(e.kind == "advance" for e in ledger if rid in e.key) == (1 if accepted else 0)
    assert len([y for y in state.subsidy.years]) == sum(rid in state.answered for rid in (signal_rid, update_rid))

