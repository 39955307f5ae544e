"""Activities that write outcomes to PostgreSQL and send the outbox (DESIGN.md, "Side effects
exactly once"). Each is idempotent: retrying one never doubles a row or a message.
"""

from __future__ import annotations

import asyncpg
from temporalio import activity
from temporalio.exceptions import ApplicationError

from db.mailer import deliver_pending, outbox_status
from db.outcomes import active_bans, record_batch
from models.effects import Ban, BanQuery, OutcomeBatch
from models.mail import SmtpSettings
from rules.calendar import CalendarNotCovered, OverrideFileError


class OutcomeActivities:
    """Holds the pool and SMTP settings; its methods are registered on the worker."""

    def __init__(self, pool: asyncpg.Pool, smtp: SmtpSettings) -> None:
        self._pool = pool
        self._smtp = smtp

    @activity.defn(name="record_outcomes")
    async def record_outcomes(self, batch: OutcomeBatch) -> None:
        """Audit rows, bans, outbox rows and the center snapshot, in one transaction."""
        async with self._pool.acquire() as conn:
            await record_batch(conn, batch)

    @activity.defn(name="deliver_mail")
    async def deliver_mail(self, keys: list[str]) -> int:
        """Send these outbox rows unless already sent; return how many this attempt sent.

        Succeeds only once every one of `keys` is sent. SMTP errors raise, so Temporal retries.
        """
        if not keys:
            return 0
        async with self._pool.acquire() as conn:
            missing, _ = await outbox_status(conn, keys)
        if missing:
            # The workflow must record_outcomes first; retrying will not make the rows appear.
            raise ApplicationError(
                f"no outbox row for keys {missing}; record_outcomes must run before deliver_mail",
                type="UnknownOutboxKey",
                non_retryable=True,
            )
        sent = await deliver_pending(self._pool, self._smtp, keys, on_sent=activity.heartbeat)
        async with self._pool.acquire() as conn:
            _, unsent = await outbox_status(conn, keys)
        if unsent:
            # Skipped because another worker holds the row lock mid-send; check again later.
            raise ApplicationError(f"outbox rows still being sent elsewhere: {unsent}", type="OutboxBusy")
        return len(sent)

    @activity.defn(name="find_active_bans")
    async def find_active_bans(self, query: BanQuery) -> list[Ban]:
        """PD7: the bans that stop an application on `query.on`, their ends settled by PD10.

        Missing or invalid calendar data fails without retry: a person must add or fix it, and the
        workflow turns the message into the application's refusal (PD2).
        """
        try:
            async with self._pool.acquire() as conn:
                return await active_bans(conn, query)
        except CalendarNotCovered as err:
            raise ApplicationError(f"PD10: whether a ban still runs on {query.on} depends on the working days of "
                                   f"{err.year}: {err}", {"rule_id": "PD2", "year": err.year},
                                   type="CalendarNotCovered", non_retryable=True) from err
        except OverrideFileError as err:
            raise ApplicationError(err.for_staff(), {"rule_id": "PD2"}, type="CalendarDataInvalid",
                                   non_retryable=True) from err
