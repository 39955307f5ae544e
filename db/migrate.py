"""Ordered schema migrations: `db/migrations/NNN_name.sql`, each applied once, in name order.

Every worker calls `apply_migrations` at start-up (INTERFACE.md: "Schema changes come as ordered
migration files applied by the service"). A PostgreSQL advisory lock serialises workers that start
together; `schema_migrations` remembers what was applied and each file's checksum, so an edited,
already-applied file is refused instead of silently diverging from the live schema.

Each file runs in one transaction, so it may hold several statements but no statement that refuses
a transaction block (CREATE INDEX CONCURRENTLY, ALTER TYPE ... ADD VALUE before PostgreSQL 12).
"""

from __future__ import annotations

import hashlib
import re
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
        await conn.execute("SELECT pg_advisory_lock($1)", LOCK_KEY)
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
