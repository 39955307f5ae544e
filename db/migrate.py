"""Ordered schema migrations: `db/migrations/NNN_name.sql`, each applied once, in name order.

Every worker calls `apply_migrations` at start-up (INTERFACE.md: "Schema changes come as ordered
migration files applied by the service"). A PostgreSQL advisory lock serialises workers that start
together; `schema_migrations` remembers what was applied and each file's checksum, so an edited,
already-applied file is refused instead of silently diverging from the live schema.

Migrations run on a dedicated connection with no command timeout (`migrate_url`): a pool's timeout
would also bound a long ALTER TABLE and the wait for the lock, so a migration longer than it could
never be applied. While another worker holds the lock, the wait is logged every few seconds.

Each file runs in one transaction, so it may hold several statements but no statement that refuses
a transaction block (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE before PostgreSQL 12).
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

import asyncpg
import structlog

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
NAME = re.compile(r"^\d{3,}_[A-Za-z0-9_]+\.sql$")

# One fixed 64-bit key for "this service is migrating", derived from a name so it will not collide
# with another application's advisory locks by accident.
LOCK_KEY = int.from_bytes(hashlib.sha256(b"innovation-centers:migrations").digest()[:8], "big", signed=True)

log = structlog.get_logger(__name__)

# How often a worker waiting for the migration lock says so.
LOCK_WAIT_LOG_EVERY = 5.0
_LOCK_POLL = 0.5


class MigrationError(RuntimeError):
    """The migration files and the database disagree; a person must look."""


def checksum(sql: str) -> str:
    """sha256 of the file, line endings normalised so a CRLF checkout is not a "change"."""
    return hashlib.sha256(sql.replace("\r\n", "\n").encode("utf-8")).hexdigest()


def migration_files(directory: Path = MIGRATIONS_DIR) -> list[Path]:
    """All migration files in name order; a misnamed .sql file is an error, not skipped."""
    files = sorted(directory.glob("*.sql"), key=lambda p: p.name)
    bad = [p.name for p in files if not NAME.match(p.name)]
    if bad:
        raise MigrationError(f"migration files must be named NNN_name.sql: {', '.join(bad)}")
    return files


@asynccontextmanager
async def _connection(pool_or_conn: asyncpg.Pool | asyncpg.Connection) -> AsyncIterator[asyncpg.Connection]:
    if isinstance(pool_or_conn, asyncpg.Pool):
        async with pool_or_conn.acquire() as conn:
            yield conn
    else:
        yield pool_or_conn


async def apply_migrations(
    pool_or_conn: asyncpg.Pool | asyncpg.Connection, directory: Path = MIGRATIONS_DIR
) -> list[str]:
    """Apply every migration not applied yet, each in its own transaction; return their names.

    Raises MigrationError if a file that was already applied has changed since.
    """
    files = migration_files(directory)
    applied_now: list[str] = []
    async with _connection(pool_or_conn) as conn:
        # Session-level lock: held across all files, released in `finally` (or when the
        # connection dies, so a crashed worker never leaves it stuck).
        await _take_lock(conn)
        try:
            # Under the lock: two concurrent CREATE TABLE IF NOT EXISTS can still collide.
            await conn.execute(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name       text PRIMARY KEY,
                    checksum   text NOT NULL,
                    applied_at timestamptz NOT NULL DEFAULT now()
                )
                """
            )
            applied = {r["name"]: r["checksum"] for r in await conn.fetch("SELECT name, checksum FROM schema_migrations")}
            pending: list[tuple[Path, str, str]] = []
            for path in files:
                sql = path.read_text(encoding="utf-8")
                digest = checksum(sql)
                if path.name not in applied:
                    pending.append((path, sql, digest))
                elif applied[path.name] != digest:
                    raise MigrationError(
                        f"migration {path.name} was changed after it was applied "
                        f"(recorded sha256 {applied[path.name][:12]}, file {digest[:12]}); "
                        "never edit an applied migration, add a new NNN_*.sql file instead"
                    )
            # Check every file before applying any, so a bad tree changes nothing.
            for path, sql, digest in pending:
                async with conn.transaction():
                    await conn.execute(sql)  # no arguments: simple protocol, several statements allowed
                    await conn.execute(
                        "INSERT INTO schema_migrations (name, checksum) VALUES ($1, $2)", path.name, digest
                    )
                applied_now.append(path.name)
                log.info("migration applied", migration=path.name)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_KEY)
    return applied_now


async def _take_lock(conn: asyncpg.Connection) -> None:
    """Take the session-level advisory lock, logging while another process holds it."""
    started = time.monotonic()
    next_note = started + LOCK_WAIT_LOG_EVERY
    while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", LOCK_KEY):
        now = time.monotonic()
        if now >= next_note:
            holder = await conn.fetchval(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND ((classid::bigint << 32) | objid::bigint) = $1 LIMIT 1",
                LOCK_KEY,
            )
            log.info("waiting for the migration lock", waited_s=round(now - started, 1), held_by_pid=holder)
            next_note = now + LOCK_WAIT_LOG_EVERY
        await asyncio.sleep(_LOCK_POLL)
    if time.monotonic() - started >= LOCK_WAIT_LOG_EVERY:
        log.info("migration lock taken", waited_s=round(time.monotonic() - started, 1))


async def migrate_url(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply the migrations over a connection of their own, with no command timeout."""
    conn = await asyncpg.connect(url, command_timeout=None, timeout=30)
    try:
        return await apply_migrations(conn, directory)
    finally:
        await conn.close()


async def pending_migrations(url: str, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Migration files not applied yet (read-only: for a worker whose role may not migrate)."""
    conn = await asyncpg.connect(url, timeout=30)
    try:
        applied: set[str] = set()
        if await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL"):
            applied = {r["name"] for r in await conn.fetch("SELECT name FROM schema_migrations")}
    finally:
        await conn.close()
    return [p.name for p in migration_files(directory) if p.name not in applied]


async def table_exists(conn: asyncpg.Connection, table: str) -> bool:
    """Whether ``table`` exists yet (its migration may not have been applied by a worker)."""
    return bool(await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table))


async def applied_migrations(conn: asyncpg.Connection) -> dict[str, asyncpg.Record]:
    """name -> (name, checksum, applied_at) of every applied migration; empty before the first."""
    if not await table_exists(conn, "schema_migrations"):
        return {}
    return {r["name"]: r for r in await conn.fetch("SELECT name, checksum, applied_at FROM schema_migrations ORDER BY name")}
