"""Activities that write outcomes to PostgreSQL and send the outbox (DESIGN.md, "Side effects
exactly once"). Each is idempotent: retrying one never doubles a row or a message.
"""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import PERMANENT, permanent_database_errors_fail_fast
from db.mailer import deliver_pending, outbox_status
from db.outcomes import active_bans, record_batch, record_batch_salvage
from models.effects import Ban, BanQuery, OutcomeBatch
from models.mail import SmtpSettings
from rules.calendar import CalendarNotCovered, OverrideFileError

log = structlog.get_logger(__name__)


class OutcomeActivities:
    """Holds the pool and SMTP settings; its methods are registered on the worker."""

    def __init__(self, pool: asyncpg.Pool, smtp: SmtpSettings) -> None:
        self._pool = pool
        self._smtp = smtp

    @activity.defn(name="record_outcomes")
    async def record_outcomes(self, batch: OutcomeBatch) -> None:
        """Audit rows, bans, outbox rows and the center snapshot, in one transaction.

        A data or integrity error (SQLSTATE classes 22 and 23) would fail the same way on every
        retry, so it is not retried: what can be saved is saved row by row, a note of the failure is
        added to the audit log, and the workflow is told (non-retryable ``OutcomeNotRecorded``) so
        that the lifecycle goes on and staff see what is missing.
        """
        try:
            async with self._pool.acquire() as conn:
                await record_batch(conn, batch)
        except PERMANENT as err:
            async with self._pool.acquire() as conn:
                skipped = await record_batch_salvage(conn, batch)
            log.error("outcome_not_recorded", center_id=batch.center_id, sqlstate=err.sqlstate,
                      error=str(err)[:300], skipped=skipped)
            raise ApplicationError(
                f"PostgreSQL refused part of this step's record ({err.sqlstate}: {err}); skipped: {', '.join(skipped)}"[:1000],
                {"sqlstate": err.sqlstate, "skipped": skipped}, type="OutcomeNotRecorded", non_retryable=True,
            ) from err

    @activity.defn(name="deliver_mail")
    @permanent_database_errors_fail_fast
    async def deliver_mail(self, keys: list[str]) -> int:
        """Send these outbox rows unless already sent; return how many this attempt sent.

        Used by lifecycles started before the due-before-actions patch and by the monthly digest;
        newer lifecycles leave delivery to the outbox dispatcher. Succeeds once every one of `keys`
        is sent or failed for good (a poisoned message must not be retried forever).
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
        done = await deliver_pending(self._pool, self._smtp, keys, on_sent=activity.heartbeat)
        async with self._pool.acquire() as conn:
            _, unsent = await outbox_status(conn, keys)
        if unsent:
            # Backing off, or leased by another sender mid-send: Temporal retries the activity.
            raise ApplicationError(f"outbox rows not sent yet: {unsent}", type="OutboxBusy")
        return len(done.sent)

    @activity.defn(name="find_active_bans")
    @permanent_database_errors_fail_fast
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
