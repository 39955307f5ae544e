"""Worker killed inside ``deliver_mail``: ``kill -9`` of the real worker process (``centers-worker``) while
its outbox dispatcher is in the middle of sending one of a center's messages, then a new worker.

The SMTP server here is a real aiosmtpd server whose handler holds the first message of the chosen
center inside DATA. Three points of the send are hit:

- **before the server accepted it** (no "250" yet): the session dies with the worker, aiosmtpd drops the
  unfinished message, and the row stays leased by the dead sender. Once the lease
  (CENTERS_OUTBOX_LEASE_SECONDS, short here, never a policy duration) expires the new worker sends it:
  every message arrives exactly once.
- **accepted by the server, never marked sent**: the server has stored the message (as an MTA queues it
  before its 250) and the worker dies before it hears the 250. This is the one gap an outbox over SMTP
  cannot close (db/mailer.py). The new worker sends the message again after the lease, and the duplicate
  carries **the same Message-ID** (derived from the outbox key), so recipients' mail systems, which dedupe
  by Message-ID, show it once.
- **"mark sent" already at PostgreSQL**: the 250 was heard and the UPDATE sent, held by a row lock the test
  takes when the worker is killed. PostgreSQL still commits it (a backend waiting on a lock does not notice
  that its client is gone), so nothing is sent twice.

In all three, the center's state, audit rows, ledger and outbox rows equal a twin center that ran the same
step on the same worker without a fault.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Iterator
from email import policy
from email.parser import BytesParser
from typing import Any

import asyncpg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from models.state import ActionResult, CenterState
from tests.fixtures.processes import stop_processes
from tests.faults.test_worker_killed import comparable, delivered, outcome_of
from tests.fixtures.mail import SmtpCollector
from tests.workers.test_worker_process import _application, _settings, _start, _worker_process
from workers.temporal_dev import free_port

pytestmark = pytest.mark.slow

LEASE_SECONDS = 4  # the dead sender's claim; the policy's durations are not involved


class HoldingSmtp(SmtpCollector):
    """Keeps every accepted message; holds the first message of ``hold_center`` inside DATA until
    ``release`` is set. A session that dies while held is cancelled by aiosmtpd: that copy is dropped."""

    def __init__(self) -> None:
        super().__init__()
        self.hold_center: str | None = None
        self.held = threading.Event()  # the held message's DATA has arrived
        self.release = threading.Event()
        self.dropped: list[str] = []  # Message-IDs whose session died before the server answered
        self.store_before_holding = False

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or envelope.content
        message = BytesParser(policy=policy.default).parsebytes(raw)  # type: ignore[arg-type]
        if self.hold_center and str(message["X-Center-Id"]) == self.hold_center and not self.held.is_set():
            if self.store_before_holding:  # like an MTA that queued the message and is about to say 250
                await super().handle_DATA(server, session, envelope)
            self.held.set()
            try:
                await asyncio.to_thread(self.release.wait, 120)
            except asyncio.CancelledError:  # the client's connection is gone
                if not self.store_before_holding:
                    self.dropped.append(str(message["Message-ID"]))  # never accepted: dropped
                raise
            if self.store_before_holding:
                return "250 OK"
        return await super().handle_DATA(server, session, envelope)


@pytest.fixture
def holding_smtp() -> Iterator[HoldingSmtp]:
    collector = HoldingSmtp()
    collector.port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=collector.port)
    controller.start()
    try:
        yield collector
    finally:
        collector.release.set()
        controller.stop()


async def marking_sent_waits(pool: asyncpg.Pool) -> bool:
    """The dispatcher's UPDATE that marks a row sent is waiting for the test's row lock. Asked outside the
    lock's transaction: within one, PostgreSQL keeps showing the pg_stat_activity of its first look."""
    return bool(await pool.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
        "AND query LIKE '%UPDATE outbox SET sent_at%'"))


def outbox_outcome(rows: list[Any]) -> list[tuple]:
    """The outbox rows as a twin can be compared: what was sent, how often it was tried, failures."""
    return sorted((r["rule_id"], r["attempts"], r["sent_at"] is not None, r["failed_at"] is None, r["last_error"])
                  for r in rows)


async def outbox_rows(pool: asyncpg.Pool, center_id: str) -> list[Any]:
    async with pool.acquire() as conn:
        return await conn.fetch("SELECT key, rule_id, message_id, attempts, sent_at, failed_at, last_error, "
                                "claimed_until FROM outbox WHERE center_id = $1 ORDER BY id", center_id)


BEFORE_250, ACCEPTED_UNHEARD, MARK_IN_FLIGHT = "before-250", "accepted-not-marked", "mark-sent-in-flight"


@pytest.mark.timeout(300)
@pytest.mark.parametrize("point", [BEFORE_250, ACCEPTED_UNHEARD, MARK_IN_FLIGHT])
async def test_worker_killed_inside_deliver_mail_the_message_arrives_after_the_lease_with_its_message_id(
        point, ops_server, ops_client, database_url, holding_smtp, db_pool, tmp_path, monkeypatch):
    """Killed mid-send, the center ends as its uninterrupted twin, and its mail arrives. Where the SMTP
    server had accepted the message but the row was never marked sent, the message is delivered twice and
    both copies carry the same Message-ID: recipients' mail systems drop the second by its Message-ID."""
    monkeypatch.setenv("CENTERS_OUTBOX_LEASE_SECONDS", str(LEASE_SECONDS))  # read by both worker processes
    holding_smtp.store_before_holding = point == ACCEPTED_UNHEARD
    settings = _settings(ops_server, database_url, holding_smtp)
    first = await _worker_process(settings, tmp_path / "first.log")
    second = None
    lock: asyncpg.Connection | None = None
    try:
        twin, center = await _start(ops_client, settings.task_queue), await _start(ops_client, settings.task_queue)
        await twin.execute_update("submit_application", _application())  # the uninterrupted run
        twin_state = await twin.query("state", result_type=CenterState)
        twin_mail = await delivered(db_pool, holding_smtp, twin_state.center_id)
        assert twin_mail, "the twin's step sent no mail: nothing to compare"

        center_id = (await center.query("state", result_type=CenterState)).center_id
        await delivered(db_pool, holding_smtp, center_id)  # the opening mail, before the step
        holding_smtp.hold_center = center_id
        payload = _application()
        answer = await center.execute_update("submit_application", payload, result_type=ActionResult)
        assert answer.request_id == payload["request_id"]
        assert await asyncio.to_thread(holding_smtp.held.wait, 60), "the dispatcher never sent the center's mail"
        held = [r for r in await outbox_rows(db_pool, center_id) if r["claimed_until"] is not None]
        assert len(held) == 1 and held[0]["sent_at"] is None, held  # leased by the sender being killed
        held_key, held_id = held[0]["key"], held[0]["message_id"]

        if point == MARK_IN_FLIGHT:
            lock = await asyncpg.connect(database_url)
            await lock.execute("BEGIN")
            await lock.execute("SELECT 1 FROM outbox WHERE key = $1 FOR UPDATE", held_key)
            holding_smtp.release.set()  # the server answers 250 and keeps the message ...
            for _ in range(300):  # ... and the dispatcher's "mark sent" reaches PostgreSQL, and waits
                if await marking_sent_waits(db_pool):
                    break
                await asyncio.sleep(0.1)
            assert await marking_sent_waits(db_pool), "the dispatcher never tried to mark the row sent"
        first.send_signal(signal.SIGKILL)
        await first.wait()
        if lock is not None:
            await lock.execute("ROLLBACK")
            await lock.close()
            lock = None
        if point != MARK_IN_FLIGHT:
            row = next(r for r in await outbox_rows(db_pool, center_id) if r["key"] == held_key)
            assert row["sent_at"] is None and row["claimed_until"] is not None, "the dead sender's lease is gone"

        second = await _worker_process(settings, tmp_path / "second.log")
        mail = await delivered(db_pool, holding_smtp, center_id)
        rows = await outbox_rows(db_pool, center_id)
        assert all(r["sent_at"] is not None for r in rows), rows
        copies = mail.count(held_id)
        if point == ACCEPTED_UNHEARD:
            await asyncio.sleep(LEASE_SECONDS)  # a third copy would have come by now
            mail = await delivered(db_pool, holding_smtp, center_id)
            assert mail.count(held_id) == 2, (
                "accepted by the SMTP server, the worker killed before it marked the row sent: the row is sent "
                f"again after the lease, and the duplicate carries the same Message-ID {held_id} (recipients "
                f"dedupe by Message-ID); got {mail}")
            assert sorted(set(mail)) == sorted(r["message_id"] for r in rows) and len(mail) == len(rows) + 1
        else:
            if point == BEFORE_250:
                assert holding_smtp.dropped == [held_id], "the held copy should have died with its session"
            else:  # the UPDATE had reached PostgreSQL: it commits although its client is dead, no resend
                await asyncio.sleep(LEASE_SECONDS + 1)
                mail = await delivered(db_pool, holding_smtp, center_id)
            assert copies == 1 and sorted(mail) == sorted(r["message_id"] for r in rows), f"each once: {mail}"

        again = await center.execute_update("submit_application", payload, result_type=ActionResult)
        assert again.duplicate  # the client's resend acts nothing twice
        state, twin_state = (await center.query("state", result_type=CenterState),
                             await twin.query("state", result_type=CenterState))
        assert comparable(state) == comparable(twin_state)
        ours, theirs = await outcome_of(db_pool, center_id), await outcome_of(db_pool, twin_state.center_id)
        assert ours["audits"] == theirs["audits"] and ours["ledger"] == theirs["ledger"]
        assert outbox_outcome(rows) == outbox_outcome(await outbox_rows(db_pool, twin_state.center_id))
    finally:
        holding_smtp.release.set()
        if lock is not None:
            await lock.close()
        await stop_processes(first, second)
