"""Run the portal with uvicorn inside an asyncio program (the dev stack, the tests)."""

from __future__ import annotations

import asyncio
import contextlib

import structlog
import uvicorn
from fastapi import FastAPI

from portal.app import create_app
from portal.oidc import OidcConfig
from staff.context import StaffContext
from workers.settings import Settings

log = structlog.get_logger(__name__)


def build(ctx: StaffContext, settings: Settings) -> FastAPI:
    key = settings.portal_secret_key.get_secret_value() if settings.portal_secret_key else None
    if key is None:
        log.warning("PORTAL_SECRET_KEY unset: a random key signs sessions; they end when the portal restarts")
    return create_app(ctx, key, session_minutes=settings.portal_session_minutes,
                      cookie_secure=settings.portal_cookie_secure, oidc=OidcConfig.from_settings(settings))


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal handling: the dev stack (or the test) decides when to stop."""

    @contextlib.contextmanager
    def capture_signals(self):  # type: ignore[override]
        yield


class PortalServer:
    """uvicorn on host:port as a task; ``await stop()`` shuts it down."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        self.server = _QuietServer(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                  access_log=False, lifespan="off"))
        self.url = f"http://{host}:{port}"
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> "PortalServer":
        self.task = asyncio.create_task(self.server.serve())
        while not self.server.started:
            if self.task.done():
                self.task.result()  # raises why it could not start (port taken...)
                raise RuntimeError("the portal stopped before it started")
            await asyncio.sleep(0.05)
        return self

    async def stop(self) -> None:
        self.server.should_exit = True
        if self.task:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.task, 10)
