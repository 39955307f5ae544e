"""Outbox delivery: each notification is sent once, even across retries and crashes (PD9).

Delivery never gates a lifecycle (DESIGN.md): the workflow only commits outbox rows, and the
outbox dispatcher (workers/outbox.py) sends them. A sender leases due rows in a short transaction
(FOR UPDATE SKIP LOCKED, so two workers never take the same row), talks SMTP on no database
connection, and marks each row sent as soon as the server accepted it, so a sent row is never sent
again. The one gap left is a crash between the server's "250 OK" and that mark: after the lease
expires the row is sent again with the same Message-ID (derived from the outbox key), which lets a
downstream system drop the duplicate. Failures are recorded on the row: temporary ones back off,
permanent ones (a message that cannot be built, every recipient refused with 5xx) are failed for
good and shown to staff.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from zoneinfo import ZoneInfo

import aiosmtplib
import asyncpg
import structlog

from models.mail import OutboxEntry, SmtpSettings, UndeliveredMail
from models.text import header_safe

MESSAGE_ID_DOMAIN = "innovation-centers.zhoushan"
SHANGHAI = ZoneInfo("Asia/Shanghai")  # PD1

log = structlog.get_logger(__name__)

_ROW = (
    "key, center_id, recipients, subject, body, rule_id, message_id, created_at, sent_at, attempts, last_error, "
    "next_attempt_at, failed_at"
)
# Lease due rows in one short transaction; SMTP happens outside it, on no database connection.
# A lease that outlives a crashed sender simply expires and the row is due again (same Message-ID).
_CLAIM = f"""
    WITH claimed AS (
        UPDATE outbox SET claimed_until = now() + make_interval(secs => $2)
        WHERE id IN (
            SELECT id FROM outbox
            WHERE sent_at IS NULL AND failed_at IS NULL
              AND (claimed_until IS NULL OR claimed_until < now())
              -- the sweep honours the backoff; named keys (a workflow's own request) go now
              AND ($1::text[] IS NULL AND next_attempt_at <= now() OR key = ANY($1::text[]))
            ORDER BY id
            LIMIT $3
            FOR UPDATE SKIP LOCKED
        )
        RETURNING id, {_ROW}
    )
    SELECT {_ROW} FROM claimed ORDER BY id
"""
_SENT = """
    UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = $2, claimed_until = NULL
    WHERE key = $1
"""
_RETRY = """
    UPDATE outbox SET attempts = attempts + 1, last_error = $2, claimed_until = NULL,
        next_attempt_at = now() + make_interval(secs => $3)
    WHERE key = $1
"""
_FAILED = """
    UPDATE outbox SET attempts = attempts + 1, last_error = $2, claimed_until = NULL, failed_at = now()
    WHERE key = $1
"""
_RELEASE = "UPDATE outbox SET claimed_until = NULL WHERE key = ANY($1::text[]) AND sent_at IS NULL"


def message_id_for(key: str) -> str:
    """Deterministic Message-ID: the same outbox key always yields the same id."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{MESSAGE_ID_DOMAIN}>"


def build_message(entry: OutboxEntry, mail_from: str) -> EmailMessage:
    """The MIME message for an outbox row; the same row always gives the same message.

    Every header value passes ``header_safe``: a line break in a stored name can never start a
    header of its own (input is refused at the door too; rows stored before that are covered here).
    """
    msg = EmailMessage()  # policy.default: non-ASCII headers (the Chinese subject) get RFC 2047
    msg["Message-ID"] = entry.message_id
    # Date from the row, not the clock: a resend after a crash is byte-identical.
    msg["Date"] = format_datetime(entry.created_at.astimezone(SHANGHAI))
    msg["From"] = header_safe(mail_from)
    msg["To"] = ", ".join(header_safe(r) for r in entry.recipients)
    msg["Subject"] = header_safe(entry.subject)
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the bureau
    msg["X-Center-Id"] = header_safe(entry.center_id)
    if entry.rule_id:
        msg["X-Rule-Id"] = header_safe(entry.rule_id)
    # base64 survives any relay, including 7-bit-only ones, without mangling Chinese text.
    msg.set_content(entry.body.replace("\x00", ""), charset="utf-8", cte="base64")
    return msg


@dataclass
class DeliveryRound:
    """What one call of :func:`deliver_pending` did, by outbox key."""

    sent: list[str] = field(default_factory=list)
    retrying: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    server_down: bool = False


def backoff_seconds(attempts: int, smtp: SmtpSettings) -> float:
    """Exponential backoff after ``attempts`` failed tries, capped (temporary failures only)."""
    exponent = min(max(attempts - 1, 0), 40)  # 2**40 base seconds is past any cap; no float overflow
    return float(min(smtp.retry_base_seconds * 2 ** exponent, smtp.retry_max_seconds))


async def deliver_pending(
    pool: asyncpg.Pool,
    smtp: SmtpSettings,
    keys: Sequence[str] | None = None,
    *,
    batch: int = 1,
    on_sent: Callable[[str], None] | None = None,
) -> DeliveryRound:
    """Send the due outbox rows (of ``keys``, or all) over one SMTP connection; never raises for SMTP.

    - accepted by the server: marked sent at once (a sent row is never sent again);
    - cannot be built, or refused permanently (5xx) by every recipient: failed for good, shown to staff;
    - anything else (server down, 4xx, timeout): retried later with backoff.
    """
    key_list = list(keys) if keys is not None else None
    done = DeliveryRound()
    client: aiosmtplib.SMTP | None = None
    try:
        while not done.server_down:
            async with pool.acquire() as conn:
                rows = await conn.fetch(_CLAIM, key_list, smtp.lease_seconds, batch)
            if not rows:
                break
            entries = [OutboxEntry.model_validate(dict(r)) for r in rows]
            for index, entry in enumerate(entries):
                if done.server_down:
                    async with pool.acquire() as conn:  # not tried: due again at once, no attempt counted
                        await conn.execute(_RELEASE, [e.key for e in entries[index:]])
                    break
                client = await _deliver_one(pool, smtp, client, entry, done)
                if on_sent is not None and entry.key in done.sent:
                    on_sent(entry.key)
            if key_list is None and len(rows) < batch:
                break
    finally:
        await _close(client)
    return done


async def _deliver_one(
    pool: asyncpg.Pool, smtp: SmtpSettings, client: aiosmtplib.SMTP | None, entry: OutboxEntry, done: DeliveryRound,
) -> aiosmtplib.SMTP | None:
    """Build and send one leased row, and record what happened on it; returns the (open) client."""
    try:
        message = build_message(entry, smtp.mail_from)
    except Exception as exc:  # a message that cannot be built never will be: fail it, do not retry
        await _mark(pool, _FAILED, entry.key, f"cannot build the message: {type(exc).__name__}: {exc}")
        done.failed.append(entry.key)
        log.error("mail_failed", key=entry.key, reason="unbuildable", error=str(exc)[:300])
        return client
    if client is None:  # connect lazily, once per round: no mail, no connection
        try:
            client = await _connect(smtp)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:  # down or misconfigured: come back later
            await _fail_or_retry(pool, smtp, entry, f"cannot connect: {type(exc).__name__}: {exc}", False, done)
            done.server_down = True
            return None
    try:
        refused = await _send(client, message, entry, smtp.mail_from)
    except aiosmtplib.SMTPRecipientsRefused as exc:
        permanent = all(r.code >= 500 for r in exc.recipients)
        note = "every recipient refused: " + "; ".join(f"{r.recipient} ({r.code} {r.message})" for r in exc.recipients)
        await _fail_or_retry(pool, smtp, entry, note, permanent, done)
    except aiosmtplib.SMTPResponseException as exc:
        await _fail_or_retry(pool, smtp, entry, f"{type(exc).__name__}: {exc.code} {exc.message}", exc.code >= 500, done)
        if exc.code < 500:
            done.server_down = True  # 4xx on the session: the server asks us to come back later
    except (aiosmtplib.SMTPNotSupported, ValueError) as exc:  # e.g. a non-ASCII address, no SMTPUTF8: never will
        await _fail_or_retry(pool, smtp, entry, f"{type(exc).__name__}: {exc}", True, done)
    except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
        await _fail_or_retry(pool, smtp, entry, f"{type(exc).__name__}: {exc}", False, done)
        done.server_down = True
        client = await _close(client)
    else:
        await _mark_sent(pool, smtp, entry.key, refused)
        done.sent.append(entry.key)
        log.info("mail_sent", key=entry.key, message_id=entry.message_id, rule_id=entry.rule_id)
    return client


async def _fail_or_retry(
    pool: asyncpg.Pool, smtp: SmtpSettings, entry: OutboxEntry, note: str, permanent: bool, done: DeliveryRound,
) -> None:
    if permanent:
        await _mark(pool, _FAILED, entry.key, note)
        done.failed.append(entry.key)
        log.error("mail_failed", key=entry.key, reason="refused permanently", error=note[:300])
    else:
        delay = backoff_seconds(entry.attempts + 1, smtp)
        await _mark(pool, _RETRY, entry.key, note, delay)
        done.retrying.append(entry.key)
        log.warning("mail_not_sent", key=entry.key, error=note[:300], retry_in_s=delay)


# What PostgreSQL raises while it is away (stopped, restarting, unreachable socket).
_DATABASE_AWAY = (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError, asyncpg.CannotConnectNowError)


async def _mark_sent(pool: asyncpg.Pool, smtp: SmtpSettings, key: str, refused: str | None) -> None:
    """The server accepted the message: mark it sent, waiting out a short PostgreSQL outage rather
    than leaving the row leased, which would send it a second time when the lease expires. Gives
    up (the exception propagates) once most of the lease is spent: then the resend is due anyway."""
    give_up = asyncio.get_running_loop().time() + smtp.lease_seconds * 0.8
    pause = 0.2
    while True:
        try:
            await _mark(pool, _SENT, key, refused)
            return
        except _DATABASE_AWAY as exc:
            if asyncio.get_running_loop().time() + pause > give_up:
                raise
            log.warning("mail_sent_not_marked_yet", key=key, error=f"{type(exc).__name__}: {exc}"[:300],
                        retry_in_s=pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 5.0)


async def _mark(pool: asyncpg.Pool, sql: str, key: str, note: str | None, *args: object) -> None:
    async with pool.acquire() as conn:
        await conn.execute(sql, key, note[:2000] if note else None, *args)


async def next_due_in(pool: asyncpg.Pool) -> float | None:
    """Seconds until the next unsent row is due (0 if one is due now), or None if none waits."""
    async with pool.acquire() as conn:
        value = await conn.fetchval(
            "SELECT extract(epoch FROM min(greatest(next_attempt_at, coalesce(claimed_until, next_attempt_at))) - now()) "
            "FROM outbox WHERE sent_at IS NULL AND failed_at IS NULL"
        )
    return None if value is None else max(float(value), 0.0)


async def undelivered_mail(conn: asyncpg.Connection, center_id: str | None = None, limit: int = 100) -> list[UndeliveredMail]:
    """Rows not sent yet or failed for good, oldest first (for the M5 board and `centers show`)."""
    rows = await conn.fetch(
        "SELECT key, center_id, subject, created_at, attempts, last_error, failed_at IS NOT NULL AS failed "
        "FROM outbox WHERE sent_at IS NULL AND ($1::text IS NULL OR center_id = $1) "
        "AND (failed_at IS NOT NULL OR attempts > 0 OR created_at < now() - interval '5 minutes') "
        "ORDER BY id LIMIT $2",
        center_id, limit,
    )
    return [UndeliveredMail.model_validate(dict(r)) for r in rows]


async def outbox_status(conn: asyncpg.Connection, keys: Sequence[str]) -> tuple[list[str], list[str]]:
    """(keys with no outbox row, keys whose row is neither sent nor failed for good)."""
    rows = await conn.fetch(
        "SELECT key, sent_at IS NOT NULL OR failed_at IS NOT NULL AS settled FROM outbox WHERE key = ANY($1::text[])",
        list(keys),
    )
    found = {r["key"]: r["settled"] for r in rows}
    missing = [k for k in dict.fromkeys(keys) if k not in found]
    unsent = [k for k, settled in found.items() if not settled]
    return missing, unsent


async def _connect(smtp: SmtpSettings) -> aiosmtplib.SMTP:
    """Connect (and log in) as the settings say: no TLS, STARTTLS, or implicit TLS (SMTPS, 465)."""
    import ssl  # here, not at the top: this function is the only part of the mailer that TLS concerns

    tls_context = None
    if (smtp.use_tls or smtp.starttls) and smtp.ca_file is not None:
        tls_context = ssl.create_default_context(cafile=str(smtp.ca_file))  # a private CA; hostname still checked
    client = aiosmtplib.SMTP(
        hostname=smtp.host,
        port=smtp.port,
        use_tls=smtp.use_tls,
        # False, not None: None would upgrade opportunistically, and we want the setting obeyed.
        start_tls=smtp.starttls and not smtp.use_tls,
        tls_context=tls_context,
        timeout=smtp.timeout_seconds,
    )
    await client.connect()
    if smtp.username:
        password = smtp.password.get_secret_value() if smtp.password else ""
        await client.login(smtp.username, password)
    return client


async def _send(client: aiosmtplib.SMTP, message: EmailMessage, entry: OutboxEntry, mail_from: str) -> str | None:
    """Send one message; return a note on refused recipients, or None if all accepted."""
    # Envelope addresses are bare: the From header may carry a Chinese display name, which must
    # not leak into MAIL FROM (that would demand SMTPUTF8 from the server).
    refused, _ = await client.send_message(
        message,
        sender=parseaddr(mail_from)[1],
        recipients=[parseaddr(r)[1] for r in entry.recipients],
    )
    if not refused:
        return None
    return "refused: " + "; ".join(f"{rcpt} ({resp.code} {resp.message})" for rcpt, resp in refused.items())


async def _close(client: aiosmtplib.SMTP | None) -> None:
    if client is not None and client.is_connected:
        try:
            await client.quit()
        except (aiosmtplib.SMTPException, OSError):
            client.close()
    return None


async def outbox_backlog(conn: asyncpg.Connection) -> tuple[int, float, int]:
    """(rows still to send, age in seconds of the oldest of them (0 when none), rows failed for good)."""
    row = await conn.fetchrow(
        "SELECT count(*) FILTER (WHERE failed_at IS NULL) AS n, "
        "coalesce(extract(epoch FROM now() - min(created_at) FILTER (WHERE failed_at IS NULL)), 0) AS age, "
        "count(*) FILTER (WHERE failed_at IS NOT NULL) AS failed "
        "FROM outbox WHERE sent_at IS NULL"
    )
    return int(row["n"]), float(row["age"]), int(row["failed"])
