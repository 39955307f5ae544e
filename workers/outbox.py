"""The outbox dispatcher: delivers committed mail on its own path, so no lifecycle waits for SMTP.

Runs beside the Temporal worker in the worker process (and in the test worker fixture). It wakes
when a step commits mail (PostgreSQL NOTIFY 'outbox', from migration 004's trigger), when a
backed-off row falls due, and every ``poll_seconds`` in any case, which also sweeps rows whose
notification was missed or whose sender crashed. Several dispatchers may run at once (one per
worker): leases with SKIP LOCKED keep them off each other's rows.
"""

from __future__ import annotations

import asyncio
import contextlib

import asyncpg
import structlog

from db.mailer import deliver_pending, next_due_in
from models.mail import SmtpSettings

log = structlog.get_logger(__name__)


class OutboxDispatcher:
    def __init__(self, pool: asyncpg.Pool, smtp: SmtpSettings, *, poll_seconds: float = 30.0,
                 lease_seconds: float | None = None) -> None:
        """``lease_seconds`` (the worker passes CENTERS_OUTBOX_LEASE_SECONDS): how long a row being sent
        stays claimed; a crashed sender's row is due again after it. None: ``smtp.lease_seconds``."""
        self._pool = pool
        self._smtp = smtp if lease_seconds is None else smtp.model_copy(update={"lease_seconds": lease_seconds})
        self._poll = poll_seconds
        self._wake = asyncio.Event()

    def nudge(self) -> None:
        """Deliver now (called on NOTIFY, and by tests)."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until ``stop`` is set; a database or SMTP outage only delays mail, never ends the loop."""
        listener = await self._listen()
        try:
            while not stop.is_set():
                self._wake.clear()
                wait = self._poll
                try:
                    done = await deliver_pending(self._pool, self._smtp)
                    if done.sent or done.failed or done.retrying:
                        log.info("outbox_round", sent=len(done.sent), failed=len(done.failed),
                                 retrying=len(done.retrying))
                    due = await next_due_in(self._pool)
                    if due is not None:
                        wait = min(wait, max(due, 0.2))
                # InternalClientError: a pooled connection broken by a PostgreSQL restart ("cannot switch
                # to state 12; another operation is in progress"); found by tests/faults/test_postgres_outage.py.
                except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, asyncpg.InternalClientError,
                        TimeoutError) as exc:
                    log.warning("outbox_unavailable", error=f"{type(exc).__name__}: {exc}"[:300])
                except Exception:  # a bug must not end delivery for the whole worker: log it, go on
                    log.exception("outbox_round_failed")
                if not _alive(listener):  # e.g. PostgreSQL restarted: listen again
                    await self._unlisten(listener)
                    listener = await self._listen()
                await self._sleep(stop, wait)
        finally:
            await self._unlisten(listener)

    async def _sleep(self, stop: asyncio.Event, seconds: float) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stopping, woken}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            woken.cancel()

    async def _listen(self) -> asyncpg.Connection | None:
        """Hold one connection of the (mail's own) pool for LISTEN; None while the database is down."""
        try:
            conn = await self._pool.acquire(timeout=10)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError) as exc:
            log.warning("outbox_listen_unavailable", error=str(exc)[:300])
            return None
        try:
            await conn.add_listener("outbox", self._on_notify)
            conn.add_termination_listener(self._on_notify)  # connection lost: wake, and listen again
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as exc:
            log.warning("outbox_listen_unavailable", error=str(exc)[:300])
            await self._pool.release(conn)
            return None
        return conn

    def _on_notify(self, *_: object) -> None:
        self._wake.set()

    async def _unlisten(self, conn: asyncpg.Connection | None) -> None:
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.remove_termination_listener(self._on_notify)
            with contextlib.suppress(Exception):
                await conn.remove_listener("outbox", self._on_notify)
            with contextlib.suppress(Exception):
                await self._pool.release(conn)


def _alive(conn: asyncpg.Connection | None) -> bool:
    """A LISTEN connection that still hears; a terminated pooled one may refuse even the question."""
    if conn is None:
        return False
    try:
        return not conn.is_closed()
    except asyncpg.InterfaceError:
        return False
