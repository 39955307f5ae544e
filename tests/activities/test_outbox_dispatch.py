"""The outbox dispatcher (issue 9): mail leaves on its own path, a poisoned or permanently refused
message is failed and shown instead of retried forever, and no header can be injected."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone

import asyncpg
from aiosmtpd.controller import Controller

from db.mailer import deliver_pending, message_id_for, undelivered_mail
from db.outcomes import list_outbox, record_batch
from models.effects import Email, OutcomeBatch
from tests.fixtures.mail import SmtpCollector, _free_port as free_port
from tests.fixtures.temporal import running_dispatcher


def new_center() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def mail(center: str, n: int, **changes) -> Email:
    return Email(key=f"{center}:probe-{n}", center_id=center, to=["wangmin@center.example"], rule_id="PD9",
                 subject=f"提醒 {n}", body="正文\nbody") .model_copy(update=changes)


async def store(db_pool: asyncpg.Pool, *emails: Email) -> None:
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=emails[0].center_id, emails=list(emails)))


class RefusingRecipients(SmtpCollector):
    """A server that refuses one mailbox permanently (550), as a real relay does for a dead address."""

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: N802 (aiosmtpd hook)
        if address.startswith("gone@"):
            return "550 5.1.1 no such mailbox"
        envelope.rcpt_tos.append(address)
        return "250 OK"


async def test_pd9_a_row_no_delivery_activity_ever_ran_for_is_swept(db_pool, smtp_server, worker_settings):
    """The dispatcher sends what a workflow committed, without any workflow asking for it."""
    center = new_center()
    await store(db_pool, mail(center, 1))
    async with running_dispatcher(db_pool, worker_settings):
        await smtp_server.wait_for(lambda m: m["Message-ID"] == message_id_for(f"{center}:probe-1"))
    async with db_pool.acquire() as conn:
        [row] = await list_outbox(conn, center)
    assert row.sent_at is not None and row.attempts == 1


async def test_pd9_a_message_every_recipient_refuses_for_good_is_failed_not_retried(db_pool, smtp_settings):
    collector = RefusingRecipients()
    port = free_port()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        smtp = smtp_settings.model_copy(update={"port": port})
        center = new_center()
        await store(db_pool, mail(center, 1, to=["gone@center.example"]), mail(center, 2))
        first = await deliver_pending(db_pool, smtp, [f"{center}:probe-1", f"{center}:probe-2"])
        again = await deliver_pending(db_pool, smtp, [f"{center}:probe-1"])
    finally:
        controller.stop()
    assert first.failed == [f"{center}:probe-1"] and first.sent == [f"{center}:probe-2"]
    assert again.failed == again.sent == again.retrying == []
    async with db_pool.acquire() as conn:
        shown = await undelivered_mail(conn, center)
        rows = {r.key: r for r in await list_outbox(conn, center)}
    assert [(m.key, m.failed, m.attempts) for m in shown] == [(f"{center}:probe-1", True, 1)]
    assert "550" in shown[0].last_error and rows[f"{center}:probe-1"].failed_at is not None


async def test_pd9_a_poisoned_message_stored_by_hand_is_failed_and_shown(db_pool, smtp_server, smtp_settings):
    """A row written by hand whose message cannot be built (a line break in its Message-ID): it is
    failed at once with the reason, shown to staff, and never tried again. A line-broken subject,
    the poison of issue 9, is no longer one: it is sent with the break turned into a space."""
    center = new_center()
    key = f"{center}:poisoned"
    async with db_pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO outbox (key, center_id, recipients, subject, body, message_id) VALUES ($1, $2, $3, $4, $5, $6)",
            key, center, ["wangmin@center.example"], "中心\n名称", "正文", f"<{center}\n@poison>")
    done = await deliver_pending(db_pool, smtp_settings, [key])
    assert done.failed == [key], done
    async with db_pool.acquire() as conn:
        [shown] = await undelivered_mail(conn, center)
    assert shown.failed and shown.attempts == 1 and "cannot build" in shown.last_error
    assert (await deliver_pending(db_pool, smtp_settings, [key])).failed == []  # not tried again

    cured = mail(center, 2, subject="中心\n名称\x0b提醒")
    await store(db_pool, cured)
    assert (await deliver_pending(db_pool, smtp_settings, [cured.key])).sent == [cured.key]
    message = await smtp_server.wait_for(lambda m: m["Message-ID"] == message_id_for(cured.key))
    assert str(message["Subject"]) == "中心 名称 提醒"


async def test_pd9_a_line_break_in_a_stored_subject_never_starts_a_header(db_pool, smtp_server, smtp_settings):
    center = new_center()
    injected = mail(center, 1, subject="提醒\r\nBcc: everyone@evil.example\r\nX-Injected: yes")
    await store(db_pool, injected)
    assert (await deliver_pending(db_pool, smtp_settings, [injected.key])).sent == [injected.key]
    message = await smtp_server.wait_for(lambda m: m["Message-ID"] == message_id_for(injected.key))
    assert message["Bcc"] is None and message["X-Injected"] is None
    assert "Bcc: everyone@evil.example" in str(message["Subject"])
    assert all(rcpt != "everyone@evil.example" for _, rcpts in smtp_server.envelopes for rcpt in rcpts)


async def test_pd9_smtp_down_backs_off_then_delivers_once(db_pool, smtp_settings):
    """A temporary failure is noted on the row (attempts, last error) and retried after a backoff."""
    collector = SmtpCollector()
    port = free_port()  # nothing listens there yet
    smtp = smtp_settings.model_copy(update={"port": port, "retry_base_seconds": 0.3, "retry_max_seconds": 0.3})
    center = new_center()
    await store(db_pool, mail(center, 1))
    down = await deliver_pending(db_pool, smtp)
    assert f"{center}:probe-1" in down.retrying and down.server_down
    async with db_pool.acquire() as conn:
        [row] = await list_outbox(conn, center)
    assert row.attempts == 1 and "connect" in row.last_error and row.next_attempt_at > datetime.now(timezone.utc)
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        await asyncio.sleep(0.4)
        assert f"{center}:probe-1" in (await deliver_pending(db_pool, smtp)).sent
        assert f"{center}:probe-1" not in (await deliver_pending(db_pool, smtp)).sent
    finally:
        controller.stop()
    assert sum(m["Message-ID"] == message_id_for(f"{center}:probe-1") for m in collector.messages) == 1
