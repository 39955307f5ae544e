"""Browser tests of the staff portal: a real Chromium (Debian's package) through Playwright.

Playwright's own browser download cannot be reached here, so Chromium is launched from
/usr/bin/chromium (CHROMIUM_PATH overrides). Without it these tests skip, except when
CENTERS_REQUIRE_BROWSER=1 (CI): then they fail loudly.

Each test gets a fresh database (migrations applied), a worker on its own task queue, seeded
users and the portal served by uvicorn on a free port, all on the test's Temporal server.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import Client
from models.directory import County, Role
from portal.app import create_app
from portal.server import PortalServer
from staff import directory
from staff.context import StaffContext
from staff.identity import StaffUser
from tests.fixtures.database import apply_migrations_at
from tests.fixtures.temporal import lifecycle_worker
from workers.settings import Settings
from workers.temporal_dev import free_port

PASSWORD = "correct horse battery"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
SCREENSHOTS = os.environ.get("CENTERS_SCREENSHOTS")  # a folder: the designation test saves docs pictures there


def _require_browser() -> str:
    if Path(CHROMIUM).exists():
        return CHROMIUM
    message = (f"Chromium not found at {CHROMIUM}: apt-get update && apt-get install -y chromium fonts-noto-cjk "
               "(.ci/run does this)")
    if os.environ.get("CENTERS_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CENTERS_REQUIRE_BROWSER=1 and {message}", pytrace=False)
    pytest.skip(message)


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def browser() -> AsyncIterator[Any]:
    path = _require_browser()
    from playwright.async_api import async_playwright

    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield chromium
        await chromium.close()


def people(center_id: str) -> dict[str, StaffUser]:
    return {
        "bureau": StaffUser(user_id=f"u-bureau-{uuid.uuid4().hex[:6]}", username="zhao", display_name="赵强",
                            role=Role.CITY_BUREAU),
        "dinghai": StaffUser(user_id=f"u-dinghai-{uuid.uuid4().hex[:6]}", username="lihua", display_name="李华",
                             role=Role.COUNTY_DEPARTMENT, county=County.DINGHAI),
        "putuo": StaffUser(user_id=f"u-putuo-{uuid.uuid4().hex[:6]}", username="zhoujie", display_name="周杰",
                           role=Role.COUNTY_DEPARTMENT, county=County.PUTUO),
        "contact": StaffUser(user_id=f"u-contact-{uuid.uuid4().hex[:6]}", username="wangmin", display_name="王敏",
                             role=Role.IMPLEMENTING_ENTITY, center_ids=(center_id,)),
    }


@dataclass
class PortalStack:
    url: str
    client: Client
    database_url: str
    task_queue: str
    ctx: StaffContext
    users: dict[str, StaffUser]
    center_id: str
    handles: list[Any] = field(default_factory=list)

    async def db(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.database_url)

    async def audit(self, sql: str, *args: Any, until: Any = bool) -> Any:
        """Rows of an audit query, polled: the workflow records its steps just after it answers."""
        async def rows() -> Any:
            conn = await self.db()
            try:
                found = await conn.fetch(sql, *args)
            finally:
                await conn.close()
            return found if until(found) else None

        from tests.portal.browser import eventually

        return await eventually(rows)


async def portal_stack(client: Client, database_url: str, worker_settings: Settings, pool: Any,
                       session_minutes: float = 60, oidc: Any = None, port: int | None = None,
                       ) -> AsyncIterator[PortalStack]:
    task_queue = f"portal-{uuid.uuid4().hex[:8]}"
    center_id = f"zs-portal-{uuid.uuid4().hex[:6]}"
    settings = Settings(task_queue=task_queue)
    ctx = StaffContext(settings=settings, client=client, database_url=database_url)
    users = people(center_id)
    conn = await asyncpg.connect(database_url)
    try:
        for user in users.values():
            await directory.add_user(conn, user, PASSWORD)
    finally:
        await conn.close()
    app = create_app(ctx, "test-secret-" + uuid.uuid4().hex, session_minutes=session_minutes, oidc=oidc)
    server = await PortalServer(app, "127.0.0.1", port or free_port()).start()
    async with lifecycle_worker(client, task_queue, pool, worker_settings):
        try:
            yield PortalStack(server.url, client, database_url, task_queue, ctx, users, center_id)
        finally:
            await server.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def portal_db(blank_database_url: str) -> AsyncIterator[tuple[str, Any]]:
    await apply_migrations_at(blank_database_url)
    pool = await asyncpg.create_pool(blank_database_url, min_size=1, max_size=4)
    try:
        yield blank_database_url, pool
    finally:
        await pool.close()


@pytest_asyncio.fixture(loop_scope="session")
async def portal(env: Any, portal_db: tuple[str, Any], worker_settings: Settings) -> AsyncIterator[PortalStack]:
    """The portal on the time-skipping server (the designation procedure needs the notice to end)."""
    url, pool = portal_db
    async for stack in portal_stack(env.client, url, worker_settings, pool):
        yield stack


@pytest_asyncio.fixture(loop_scope="session")
async def listing_portal(dev_client: Client, portal_db: tuple[str, Any],
                         worker_settings: Settings) -> AsyncIterator[PortalStack]:
    """The portal on the dev server: the centers list is a visibility query the test server lacks."""
    url, pool = portal_db
    async for stack in portal_stack(dev_client, url, worker_settings, pool):
        yield stack
        for handle in stack.handles:  # the dev server is shared by the session: end what we started
            try:
                await handle.terminate("test over")
            except Exception:
                pass


@pytest_asyncio.fixture(loop_scope="session")
async def page_factory(browser: Any) -> AsyncIterator[Any]:
    """New browser contexts (one per person), closed after the test."""
    contexts: list[Any] = []

    async def new_page() -> Any:
        context = await browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        contexts.append(context)
        return await context.new_page()

    yield new_page
    for context in contexts:
        await context.close()
