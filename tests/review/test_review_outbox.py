"""Review of issue 9's outbox dispatcher (db/mailer.py, workers/outbox.py): expected to FAIL on 0669465."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
from aiosmtpd.controller import Controller

from db.mailer import backoff_seconds, deliver_pending, message_id_for
from db.outcomes import record_batch
from models.effects import Email, OutcomeBatch
from tests.fixtures.mail import SmtpCollector, _free_port as free_port
from workers.outbox import OutboxDispatcher


def new_center() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def mail(center: str, n: int) -> Email:
    return Email(key=f"{center}:review-{n}", center_id=center, to=["wangmin@center.example"], rule_id="PD9",
                 subject=f"提醒 {n}", body="正文")


async def store(db_pool: asyncpg.Pool, *emails: Email) -> None:
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=emails[0].center_id, emails=list(emails)))


class SlowServer(SmtpCollector):
    """A working but slow relay: each DATA takes 1.5 s (well within the per-command timeout)."""

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook)
        await asyncio.sleep(1.5)
        return await super().handle_DATA(server, session, envelope)


def test_review_backoff_after_many_attempts_does_not_overflow(smtp_settings):
    """SMTP down for ~11 days at the 900 s cap gives a row >1024 attempts; 5.0 * 2**1100 overflows a float."""
    assert backoff_seconds(1100, smtp_settings) == smtp_settings.retry_max_seconds


async def test_review_dispatcher_survives_a_row_with_many_attempts(db_pool, smtp_settings):
    """The OverflowError above escapes deliver_pending and kills the dispatcher loop: all mail stops."""
    center = new_center()
    await store(db_pool, mail(center, 1))
    async with db_pool.acquire() as conn:
        await conn.execute("UPDATE outbox SET attempts = 1100 WHERE key = $1", f"{center}:review-1")
    down = smtp_settings.model_copy(update={"port": free_port()})  # nothing listens: a temporary failure
    stop = asyncio.Event()
    task = asyncio.create_task(OutboxDispatcher(db_pool, down, poll_seconds=0.2).run(stop))
    await asyncio.sleep(2.0)
    died = task.done()
    stop.set()
    error = None
    try:
        await task
    except Exception as exc:  # noqa: BLE001  (the point: what ended the loop)
        error = f"{type(exc).__name__}: {exc}"
    finally:  # the row would kill every later dispatcher of this test session too
        async with db_pool.acquire() as conn:
            await conn.execute("UPDATE outbox SET failed_at = now() WHERE key = $1", f"{center}:review-1")
    assert not died, f"the dispatcher loop ended on its own: {error}"


async def test_review_lease_expiry_during_a_slow_batch_sends_twice(db_pool, smtp_settings):
    """Two dispatchers: the first leases a batch and sends it slowly; the lease of its tail expires
    mid-batch, the second leases the same rows and both send them (and _SENT does not check the lease)."""
    collector = SlowServer()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = smtp_settings.model_copy(update={"port": port, "lease_seconds": 2.0})
        center = new_center()
        keys = [f"{center}:review-{n}" for n in range(1, 5)]
        await store(db_pool, *(mail(center, n) for n in range(1, 5)))

        async def second() -> None:
            await asyncio.sleep(2.5)
            await deliver_pending(db_pool, smtp, keys)

        await asyncio.gather(deliver_pending(db_pool, smtp, keys), second())
    finally:
        controller.stop()
    ids = [str(m["Message-ID"]) for m in collector.messages]
    twice = [k for k in keys if ids.count(message_id_for(k)) > 1]
    assert twice == [], f"sent more than once: {twice} ({len(ids)} messages for {len(keys)} rows)"


async def test_review_notify_is_heard_again_after_the_listen_connection_dies(db_pool, smtp_server, smtp_settings):
    """After a database restart (here: the LISTEN backend is terminated) the dispatcher keeps the dead
    listener and never LISTENs again: new mail waits for the poll (30 s in production) instead of NOTIFY."""
    stop = asyncio.Event()
    dispatcher = OutboxDispatcher(db_pool, smtp_settings, poll_seconds=60.0)
    task = asyncio.create_task(dispatcher.run(stop))
    try:
        await asyncio.sleep(1.0)  # first round done, sleeping until NOTIFY or the 60 s poll
        async with db_pool.acquire() as conn:
            killed = await conn.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE query ILIKE 'LISTEN%outbox%' AND pid <> pg_backend_pid()")
        assert killed >= 1
        await asyncio.sleep(0.5)
        center = new_center()
        await store(db_pool, mail(center, 1))  # commits a row: the trigger NOTIFYs 'outbox'
        await smtp_server.wait_for(lambda m: m["Message-ID"] == message_id_for(f"{center}:review-1"), timeout=8)
    finally:
        stop.set()
        await task
