"""Operating the database: migrations outlive any query timeout and say when they wait for the lock;
every pool gives up waiting for a connection; no empty embedded database appears by accident."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest
import structlog

from db import migrate
from db.embedded import NoDatabase, database_url
from db.migrate import LOCK_KEY, MIGRATIONS_DIR, migrate_url
from db.pool import create_pool
from workers.settings import Settings


def _slow_tree(tmp_path: Path, seconds: float) -> Path:
    """The shipped migrations plus one that runs for `seconds`."""
    tree = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, tree)
    (tree / "999_slow.sql").write_text(f"SELECT pg_sleep({seconds}); CREATE TABLE slow_done (x int);\n")
    return tree


async def test_migration_longer_than_the_pool_timeout_is_applied(blank_database_url: str, tmp_path: Path) -> None:
    """The pool bounds queries (here 0.5 s); a migration on its own connection may take longer."""
    tree = _slow_tree(tmp_path, 1.5)
    pool = await create_pool(blank_database_url, command_timeout=0.5)
    try:
        with pytest.raises(asyncio.TimeoutError):
            await pool.fetchval("SELECT pg_sleep(1.5)")  # what bounded the old pooled migration
    finally:
        await pool.close()
    applied = await migrate_url(blank_database_url, tree)
    assert applied[-1] == "999_slow.sql"
    conn = await asyncpg.connect(blank_database_url)
    try:
        assert await conn.fetchval("SELECT to_regclass('slow_done') IS NOT NULL")
    finally:
        await conn.close()


async def test_waiting_for_the_migration_lock_is_logged(blank_database_url: str, monkeypatch) -> None:
    """A second worker waits for the first one's lock, saying so, and applies nothing twice."""
    monkeypatch.setattr(migrate, "LOCK_WAIT_LOG_EVERY", 0.3)
    holder = await asyncpg.connect(blank_database_url)
    await holder.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
    try:
        with structlog.testing.capture_logs() as logs:
            waiting = asyncio.create_task(migrate_url(blank_database_url))
            await asyncio.sleep(1.0)
            assert not waiting.done()
            await holder.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
            applied = await asyncio.wait_for(waiting, 30)
    finally:
        await holder.close()
    notes = [e for e in logs if e["event"] == "waiting for the migration lock"]
    assert notes and notes[0]["held_by_pid"] is not None
    assert applied  # the blank database got every migration once the lock was free
    assert any(e["event"] == "migration lock taken" for e in logs)


async def test_pool_acquire_gives_up_after_its_timeout(database_url: str) -> None:
    """A pool of one, held by a stalled user: the next acquire fails after the timeout, not never."""
    pool = await create_pool(database_url, min_size=1, max_size=1, acquire_timeout=0.3)
    try:
        async with pool.acquire():
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(asyncio.TimeoutError):
                async with pool.acquire():
                    pass
            assert loop.time() - started < 5
        async with pool.acquire() as conn:  # free again: served at once
            assert await conn.fetchval("SELECT 1") == 1
    finally:
        await pool.close()


def test_no_silent_empty_embedded_database(tmp_path: Path) -> None:
    """DATABASE_URL unset outside the dev stack: a clear error, and no database is created."""
    settings = Settings(var_dir=tmp_path / "var", database_url=None, _env_file=None)
    with pytest.raises(NoDatabase, match="DATABASE_URL is not set"):
        database_url(settings.database_url, settings.var_dir)
    assert not (tmp_path / "var" / "pg").exists()
    assert database_url("postgresql://u@h/db", tmp_path / "var") == "postgresql://u@h/db"
