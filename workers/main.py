"""The worker process (`centers-worker`): polls the task queue for CenterLifecycle and its activities."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, date, datetime, timedelta

import structlog
from temporalio.client import Client
from temporalio.worker import Worker

from activities.registry import build_activities
from workers.calendar_signal import announce_calendar
from workers.schedules import ensure_schedules
from workflows.monitoring import MonitoringDigest
from db.embedded import database_url
from db.migrate import MigrationError, migrate_url, pending_migrations
from db.pool import create_pool
from rules.calendar import calendar_alert, default_coverage, local_date
from workers import temporal_client
from workers.exit import hard_exit
from workers.gauges import publish_forever
from workers.health import start_health_server
from models.mail import SmtpSettings
from workers.logging import configure_logging
from workers.outbox import OutboxDispatcher
from workers.sandbox import workflow_runner
from workers.settings import Settings, get_settings
from workflows.lifecycle import CenterLifecycle

log = structlog.get_logger(__name__)

# Time running activities get to finish after a stop is asked, before they are cancelled.
GRACEFUL_SHUTDOWN = timedelta(seconds=10)


async def connect_client(settings: Settings) -> Client:
    """A client speaking pydantic models, as every caller of the workflow must (workers.temporal_client)."""
    return await temporal_client.connect(settings, identity=temporal_client.default_identity("worker"))


def check_calendar(today: date) -> str | None:
    """PD2: log, at start, when the working-day data is invalid or runs out soon; return the message.

    Not fatal: reminders, grades and money do not need the calendar, only public notices (D7) do.
    """
    covered_through, problem = default_coverage(today)
    alert = calendar_alert(covered_through, problem, today)
    if problem:
        log.error("calendar_overrides_invalid", error=problem)
    elif alert:
        log.warning("calendar_coverage_ending", covered_through=str(covered_through), message=alert)
    else:
        log.info("calendar_covered", covered_through=str(covered_through))
    return alert


async def run_worker(settings: Settings, stop_event: asyncio.Event, ready: asyncio.Event | None = None) -> None:
    """Run the worker until `stop_event` is set (or the worker fails), then shut down cleanly.

    Migrations are applied first, so a fresh database is usable. `ready` is set once polling.
    """
    configure_logging(settings.log_format)
    client = await connect_client(settings)
    dsn = await asyncio.to_thread(database_url, settings.database_url, settings.var_dir)  # the dev stack's embedded server, if any
    await prepare_schema(settings, dsn)
    pool = await create_pool(dsn, max_size=settings.db_pool_size, acquire_timeout=settings.db_acquire_timeout,
                             command_timeout=settings.db_command_timeout)  # json codecs the activities rely on
    polling = asyncio.Event()
    health = None
    runtime = temporal_client.runtime(settings)
    gauges = asyncio.create_task(publish_forever(runtime, pool)) if runtime is not None else None
    try:
        if settings.health_port is not None:
            health = await start_health_server(settings.listen_host, settings.health_port,
                                               lambda: _readiness(pool, polling))
        check_calendar(local_date(datetime.now(UTC)))
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[CenterLifecycle, MonitoringDigest],
            activities=build_activities(pool, settings),
            workflow_runner=workflow_runner(),  # one copy of the workflow modules for all cached runs
            max_cached_workflows=settings.max_cached_workflows,
            graceful_shutdown_timeout=GRACEFUL_SHUTDOWN,
        )
        await ensure_schedules(client, settings.task_queue)
        mail_pool = await create_pool(dsn, min_size=1, max_size=3)  # its own: SMTP never starves the activities
        dispatcher = asyncio.create_task(
            OutboxDispatcher(mail_pool, SmtpSettings.from_settings(settings),
                             lease_seconds=settings.centers_outbox_lease_seconds).run(stop_event),
            name="outbox-dispatcher")
        running = asyncio.create_task(worker.run(), name="temporal-worker")
        stopping = asyncio.create_task(stop_event.wait(), name="stop-event")
        log.info("worker started", address=client.service_client.config.target_host,
                 namespace=client.namespace, task_queue=settings.task_queue, identity=client.identity,
                 metrics_port=settings.metrics_port, health_port=settings.health_port)
        try:  # PD10: provisional period ends settle when the data grew (never stops the worker)
            await announce_calendar(client, pool, local_date(datetime.now(UTC)))
        except Exception:
            log.exception("calendar_announce_failed")
        polling.set()
        if ready is not None:
            ready.set()
        await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        polling.clear()
        stopping.cancel()
        if not running.done():
            log.info("worker stopping")
            await worker.shutdown()
        stop_event.set()
        await dispatcher
        await mail_pool.close()
        await running  # re-raises if the worker died on its own
        log.info("worker stopped")
    finally:
        if gauges is not None:
            gauges.cancel()
        if health is not None:
            health.close()
        await pool.close()


async def prepare_schema(settings: Settings, dsn: str) -> None:
    """Apply pending migrations (own connection, no command timeout), or, when this worker's role may
    not (MIGRATE_ON_START=false), refuse to run against a schema older than the code."""
    if settings.migrate_on_start:
        applied = await migrate_url(dsn)
        log.info("migrations applied", applied=applied)
        return
    pending = await pending_migrations(dsn)
    if pending:
        raise MigrationError(f"{len(pending)} migration(s) pending ({', '.join(pending)}): run `centers-worker "
                             "--migrate-only` as the schema owner first (docker compose: the `migrate` job)")


async def _migrate_only(settings: Settings) -> int:
    """`centers-worker --migrate-only`: apply the migrations and exit (a deploy job, as the schema owner)."""
    try:
        dsn = await asyncio.to_thread(database_url, settings.database_url, settings.var_dir)
        applied = await migrate_url(dsn)
    except Exception:
        log.exception("migration failed")
        return 1
    log.info("migrations applied", applied=applied)
    return 0


async def _readiness(pool: object, polling: asyncio.Event) -> str | None:
    """Ready: the worker polls and PostgreSQL answers a trivial query within the acquire timeout."""
    if not polling.is_set():
        return "worker not polling"
    async with pool.acquire() as conn:  # type: ignore[attr-defined]
        await conn.fetchval("SELECT 1")
    return None


def install_stop_handlers(stop_event: asyncio.Event) -> None:
    """SIGTERM/SIGINT set `stop_event`; a second one ends the process at once (shutdown hung)."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        if stop_event.is_set():
            log.warning("second signal, exiting now", signal=signal.Signals(signum).name)
            hard_exit(128 + signum)
        log.info("stop requested", signal=signal.Signals(signum).name)
        stop_event.set()

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)


async def _serve(settings: Settings) -> int:
    stop_event = asyncio.Event()
    install_stop_handlers(stop_event)
    try:
        await run_worker(settings, stop_event)
    except Exception:
        log.exception("worker failed")
        return 1
    return 0


def main() -> None:
    """Console script `centers-worker`: run until SIGTERM/SIGINT, exit 0 on a clean stop.

    `centers-worker --migrate-only` applies the migrations and exits.
    """
    settings = get_settings()
    configure_logging(settings.log_format)
    if sys.argv[1:] == ["--migrate-only"]:
        hard_exit(asyncio.run(_migrate_only(settings)))
    if sys.argv[1:]:
        print("usage: centers-worker [--migrate-only]   (settings come from the environment, see .env.example)",
              file=sys.stderr)
        hard_exit(2)
    hard_exit(asyncio.run(_serve(settings)))


if __name__ == "__main__":
    main()
