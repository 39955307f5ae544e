"""Outbox delivery: each notification is sent once, even across retries and crashes (PD9).

A row is locked (FOR UPDATE SKIP LOCKED), sent, and marked `sent_at` in the same short
transaction, committed as soon as the SMTP server accepted the message. So a sent row is never
sent again, and two workers never send the same row at once. The one gap left is a crash between
the server's "250 OK" and the commit: the retry then resends the identical message with the same
Message-ID (derived from the outbox key), which lets a downstream system drop the duplicate.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from email.message import EmailMessage
from email.utils import format_datetime, parseaddr
from zoneinfo import ZoneInfo

import aiosmtplib
import asyncpg
import structlog

from models.mail import OutboxEntry, SmtpSettings

MESSAGE_ID_DOMAIN = "innovation-centers.zhoushan"
SHANGHAI = ZoneInfo("Asia/Shanghai")  # PD1

log = structlog.get_logger(__name__)

_ROW = "key, center_id, recipients, subject, body, rule_id, message_id, created_at, sent_at, attempts, last_error"
# One row at a time, each in its own transaction, so every accepted message is committed at once.
_CLAIM = f"""
    SELECT {_ROW} FROM outbox
    WHERE sent_at IS NULL AND ($1::text[] IS NULL OR key = ANY($1::text[]))
    ORDER BY id
    LIMIT 1
    FOR UPDATE SKIP LOCKED
"""


def message_id_for(key: str) -> str:
    """Deterministic Message-ID: the same outbox key always yields the same id."""
    return f"<{hashlib.sha256(key.encode('utf-8')).hexdigest()[:32]}@{MESSAGE_ID_DOMAIN}>"


def build_message(entry: OutboxEntry, mail_from: str) -> EmailMessage:
    """The MIME message for an outbox row; the same row always gives the same message."""
    msg = EmailMessage()  # policy.default: non-ASCII headers (the Chinese subject) get RFC 2047
    msg["Message-ID"] = entry.message_id
    # Date from the row, not the clock: a resend after a crash is byte-identical.
    msg["Date"] = format_datetime(entry.created_at.astimezone(SHANGHAI))
    msg["From"] = mail_from
    msg["To"] = ", ".join(entry.recipients)
    msg["Subject"] = entry.subject
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to the bureau
    msg["X-Center-Id"] = entry.center_id
    if entry.rule_id:
        msg["X-Rule-Id"] = entry.rule_id
    # base64 survives any relay, including 7-bit-only ones, without mangling Chinese text.
    msg.set_content(entry.body, charset="utf-8", cte="base64")
    return msg


async def deliver_pending(
    pool: asyncpg.Pool,
    smtp: SmtpSettings,
    keys: Sequence[str] | None = None,
    *,
    on_sent: Callable[[str], None] | None = None,
) -> list[str]:
    """Send every unsent outbox row (of `keys`, or all); return the keys sent by this call.

    Rows locked by another sender are skipped. An SMTP failure is recorded on the row (attempts,
    last_error) and then raised, so the caller (a Temporal activity) retries.
    """
    key_list = list(keys) if keys is not None else None
    sent: list[str] = []
    client: aiosmtplib.SMTP | None = None
    try:
        while True:
            failure: Exception | None = None
            async with pool.acquire() as conn, conn.transaction():
                row = await conn.fetchrow(_CLAIM, key_list)
                if row is None:
                    break
                entry = OutboxEntry.model_validate(dict(row))
                try:
                    if client is None:  # connect lazily, once per call: no mail, no connection
                        client = await _connect(smtp)
                    refused = await _send(client, entry, smtp.mail_from)
                except (aiosmtplib.SMTPException, OSError) as exc:
                    failure = exc
                    await conn.execute(
                        "UPDATE outbox SET attempts = attempts + 1, last_error = $2 WHERE key = $1",
                        entry.key,
                        f"{type(exc).__name__}: {exc}"[:2000],
                    )
                else:
                    # Some recipients refused, others accepted: it is sent; keep who was refused.
                    await conn.execute(
                        "UPDATE outbox SET sent_at = now(), attempts = attempts + 1, last_error = $2 WHERE key = $1",
                        entry.key,
                        refused,
                    )
            # Outside the transaction: the failure note is committed before we raise.
            if failure is not None:
                log.warning("mail not sent", key=entry.key, error=str(failure))
                client = await _close(client)
                raise failure
            sent.append(entry.key)
            log.info("mail sent", key=entry.key, message_id=entry.message_id, rule_id=entry.rule_id)
            if on_sent is not None:
                on_sent(entry.key)
    finally:
        await _close(client)
    return sent


async def outbox_status(conn: asyncpg.Connection, keys: Sequence[str]) -> tuple[list[str], list[str]]:
    """(keys with no outbox row, keys whose row is still unsent)."""
    rows = await conn.fetch("SELECT key, sent_at FROM outbox WHERE key = ANY($1::text[])", list(keys))
    found = {r["key"]: r["sent_at"] for r in rows}
    missing = [k for k in dict.fromkeys(keys) if k not in found]
    unsent = [k for k, sent_at in found.items() if sent_at is None]
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


async def _send(client: aiosmtplib.SMTP, entry: OutboxEntry, mail_from: str) -> str | None:
    """Send one message; return a note on refused recipients, or None if all accepted."""
    # Envelope addresses are bare: the From header may carry a Chinese display name, which must
    # not leak into MAIL FROM (that would demand SMTPUTF8 from the server).
    refused, _ = await client.send_message(
        build_message(entry, mail_from),
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
