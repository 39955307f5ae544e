"""Console script `centers-portal`: the staff portal on its own (docker-compose.yml's `portal`).

`make run` starts the same app beside the worker instead (workers/devstack.py), with demo accounts;
this entry point seeds none. PORTAL_HOST/PORTAL_PORT say where it listens.
"""

from __future__ import annotations

import asyncio

import structlog

from portal.server import PortalServer, build
from staff.context import StaffContext
from workers.exit import hard_exit
from workers.logging import configure_logging
from workers.main import install_stop_handlers
from workers.settings import Settings, get_settings

log = structlog.get_logger(__name__)


async def serve(settings: Settings) -> int:
    stop = asyncio.Event()
    install_stop_handlers(stop)
    ctx = StaffContext(settings=settings, client_role="centers-portal")
    server = await PortalServer(build(ctx, settings), settings.portal_host, settings.portal_port).start()
    log.info("staff portal started", url=server.url)
    await stop.wait()
    await server.stop()
    log.info("staff portal stopped")
    return 0


def main() -> None:
    settings = get_settings()
    configure_logging(settings.log_format)
    hard_exit(asyncio.run(serve(settings)))


if __name__ == "__main__":
    main()
