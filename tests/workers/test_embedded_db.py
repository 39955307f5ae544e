"""The embedded PostgreSQL starts, answers asyncpg, is reused, and stops."""

from __future__ import annotations

from pathlib import Path

import asyncpg

from db.embedded import start_embedded, stop_embedded


async def test_embedded_postgres_roundtrip(tmp_path: Path) -> None:
    pgdata = tmp_path / "pg"
    uri = start_embedded(pgdata)
    try:
        assert "host=" in uri  # a unix socket dir, no TCP port
        conn = await asyncpg.connect(uri)
        try:
            assert await conn.fetchval("select 1") == 1
        finally:
            await conn.close()
        assert start_embedded(pgdata) == uri  # a second start reuses the running server
    finally:
        assert stop_embedded(pgdata) is True
    assert stop_embedded(pgdata) is False  # already stopped
    assert not (pgdata / "postmaster.pid").exists()


async def test_embedded_postgres_restarts_with_data(tmp_path: Path) -> None:
    """Stopping and starting the same data dir keeps what was written (make run resumes)."""
    pgdata = tmp_path / "pg"
    try:
        conn = await asyncpg.connect(start_embedded(pgdata))
        await conn.execute("create table kept (v int); insert into kept values (7)")
        await conn.close()
        stop_embedded(pgdata)
        conn = await asyncpg.connect(start_embedded(pgdata))
        assert await conn.fetchval("select v from kept") == 7
        await conn.close()
    finally:
        stop_embedded(pgdata)
