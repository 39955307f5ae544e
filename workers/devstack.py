"""`make run` (console script `centers-dev`): the whole stack in one foreground process.

Starts, in order: the Temporal dev server (VAR_DIR/temporal.sqlite), PostgreSQL
(embedded under VAR_DIR/pg, or DATABASE_URL), the SMTP sink (VAR_DIR/mail), then the
worker, which applies migrations, then the staff portal (PORTAL_PORT) with its demo accounts. One Ctrl-C or SIGTERM stops all of it in reverse
order. State lives in VAR_DIR, so the next run resumes the same workflows.
"""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import structlog

from db.embedded import start_embedded, stop_embedded
from portal.server import PortalServer
from portal.server import build as build_portal
from staff.context import StaffContext
from staff.demo import DEMO_PASSWORD
from staff.demo import seed as seed_demo
from workers.exit import hard_exit
from workers.logging import configure_logging
from workers.main import install_stop_handlers, run_worker
from workers.settings import Settings, get_settings
from workers.smtp_sink import start_sink
from workers.temporal_dev import start_dev_server

log = structlog.get_logger(__name__)

_LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1"}


def _split_address(address: str) -> tuple[str, int]:
    host, _, port = address.rpartition(":")
    return host.strip("[]"), int(port)


async def _start_services(settings: Settings, stack: AsyncExitStack) -> Settings:
    """Start what the settings say is ours to run; return settings pointing at them."""
    var = Path(settings.var_dir).resolve()
    host, port = _split_address(settings.temporal_address)
    if host in _LOCAL_HOSTS:
        server = await start_dev_server(
            var / "temporal.sqlite", var / "temporal.log", port=port, ui_port=settings.temporal_ui_port,
            namespace=settings.temporal_namespace, pid_file=var / "temporal.pid",
        )  # fmt: skip
        stack.callback(server.stop)
        log.info("temporal dev server started", address=server.address, ui=server.ui_url, log=str(server.log_path))
    else:
        log.info("using external temporal", address=settings.temporal_address)

    if settings.database_url:
        log.info("using DATABASE_URL")
    else:
        uri = await asyncio.to_thread(start_embedded, var / "pg")
        stack.callback(stop_embedded, var / "pg")
        settings = settings.model_copy(update={"database_url": uri})
        log.info("embedded postgres started", data_dir=str(var / "pg"))

    if settings.smtp_host in _LOCAL_HOSTS:
        sink = start_sink(settings.smtp_host, settings.smtp_port, var / "mail")
        stack.callback(sink.stop)
        log.info("smtp sink started", port=settings.smtp_port, directory=str(var / "mail"))
    else:
        log.info("using external smtp", host=settings.smtp_host)
    return settings


def _banner(settings: Settings, portal_url: str | None = None, demo: list[Any] | None = None) -> str:
    mail = Path(settings.var_dir).resolve() / "mail" if settings.smtp_host in _LOCAL_HOSTS else settings.smtp_host
    lines = ["", f"  Staff portal:  {portal_url}" if portal_url else "  Staff portal:  not started (see the log)"]
    if demo:
        lines.append(f"  Demo accounts (DEMO ONLY, password {DEMO_PASSWORD}; PORTAL_DEMO_ACCOUNTS=false to skip):")
        lines += [f"    {u.username:<26} {u.role.value}{' ' + u.county.value if u.county else ''}"
                  f"{' ' + ','.join(u.center_ids) if u.center_ids else ''}" for u in demo]
    lines += [
        f"  Temporal UI:   http://localhost:{settings.temporal_ui_port}",
        f"  Mail:          {mail}",
        "  First center:  centers start examples/center.json",
        "  Stop:          Ctrl-C",
        "",
    ]
    return "\n".join(lines)


async def _start_portal(settings: Settings, stack: AsyncExitStack) -> tuple[str | None, list[Any]]:
    """The staff portal beside the worker (the migrations are applied by then); demo accounts seeded."""
    demo: list[Any] = []
    try:
        ctx = StaffContext(settings=settings, database_url=settings.database_url, client_role="centers-portal")
        if settings.portal_demo_accounts:
            conn = await ctx.db()
            try:
                demo = await seed_demo(conn)
            finally:
                await conn.close()
        server = await PortalServer(build_portal(ctx, settings), settings.portal_host, settings.portal_port).start()
    except Exception:
        log.exception("staff portal did not start", port=settings.portal_port)
        return None, demo
    stack.push_async_callback(server.stop)
    log.info("staff portal started", url=server.url)
    return server.url, demo


async def run_devstack(settings: Settings) -> int:
    """Run everything until a stop signal; 0 on a clean stop, 1 if something failed."""
    stop_event = asyncio.Event()
    install_stop_handlers(stop_event)
    ready = asyncio.Event()
    try:
        async with AsyncExitStack() as stack:  # unwinds in reverse start order
            settings = await _start_services(settings, stack)
            worker = asyncio.create_task(run_worker(settings, stop_event, ready))
            waiter = asyncio.create_task(ready.wait())
            await asyncio.wait({worker, waiter}, return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            if ready.is_set():
                portal_url, demo = await _start_portal(settings, stack)
                print(_banner(settings, portal_url, demo), flush=True)
            await worker
            log.info("stopping services")
    except Exception:
        log.exception("dev stack failed")
        return 1
    log.info("dev stack stopped")
    return 0


def main() -> None:
    """Console script `centers-dev`."""
    settings = get_settings()
    configure_logging(settings.log_format)
    hard_exit(asyncio.run(run_devstack(settings)))


if __name__ == "__main__":
    main()
