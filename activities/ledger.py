"""Subsidy ledger activities (S2, PD6): the yearly city cap is checked and written in PostgreSQL.

The workflow asks ``reserve_advance`` before ``grant_advance`` decides (a FactRequest under PD6,
field ``amount_yuan``). Its failures that a retry cannot cure are non-retryable application
errors, which the workflow turns into a refusal the user reads; a lost connection raises and
Temporal retries, and the retry is idempotent by the entry's key.
"""

from __future__ import annotations

import asyncpg
import structlog
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.errors import permanent_database_errors_fail_fast
from db.ledger import CapExceeded, LedgerKeyConflict, reserve_advance, reserve_subsidy_advance
from models.subsidy import AdvanceRequest, AdvanceRequestPD11, AdvanceReservation, LedgerEntry

log = structlog.get_logger(__name__)


class LedgerActivities:
    """Holds the pool; its methods are registered on the worker."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool

    @activity.defn(name="reserve_advance")
    @permanent_database_errors_fail_fast
    async def reserve_advance(self, request: AdvanceRequest) -> LedgerEntry:
        """PD6: write the advance if it fits under the year's city cap, in one locked transaction.

        Raises ``ApplicationError(type="CapExceeded", non_retryable=True)`` naming the headroom left.
        """
        entry = request.entry
        try:
            async with self._pool.acquire() as conn:
                stored = await reserve_advance(conn, entry, request.cap_yuan)
        except CapExceeded as err:
            log.info("advance_refused_cap", center_id=entry.center_id, year=entry.year,
                     amount=str(entry.amount_yuan), headroom=str(err.headroom))
            raise ApplicationError(
                str(err),
                {"rule_id": "PD6", "year": err.year, "cap_yuan": str(err.cap), "granted_yuan": str(err.granted),
                 "headroom_yuan": str(err.headroom)},
                type="CapExceeded", non_retryable=True,
            ) from err
        except LedgerKeyConflict as err:
            log.error("ledger_key_conflict", key=entry.key, error=str(err))
            raise ApplicationError(str(err), type="LedgerKeyConflict", non_retryable=True) from err
        log.info("advance_reserved", center_id=entry.center_id, year=entry.year, amount=str(entry.amount_yuan),
                 key=entry.key)
        return stored

    @activity.defn(name="reserve_subsidy_advance")
    @permanent_database_errors_fail_fast
    async def reserve_subsidy_advance(self, request: AdvanceRequestPD11) -> AdvanceReservation:
        """S1, S2, S3, PD6, PD11, PD12: the advance if every per-center rule and the city cap allow it.

        A refusal is a result (rule, field, message) that ``grant_advance`` turns into a refusal of the
        action; only a key conflict or a lost connection raises.
        """
        entry = request.entry
        try:
            async with self._pool.acquire() as conn:
                result = await reserve_subsidy_advance(conn, entry, request.cap_yuan, request.max_years)
        except LedgerKeyConflict as err:
            log.error("ledger_key_conflict", key=entry.key, error=str(err))
            raise ApplicationError(str(err), type="LedgerKeyConflict", non_retryable=True) from err
        if result.refusal is not None:
            log.info("advance_refused", center_id=entry.center_id, year=entry.year, amount=str(entry.amount_yuan),
                     rule_id=result.refusal.rule_id, reason=result.refusal.message)
        else:
            log.info("advance_reserved", center_id=entry.center_id, year=entry.year, amount=str(entry.amount_yuan),
                     key=entry.key)
        return result
