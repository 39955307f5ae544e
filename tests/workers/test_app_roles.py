"""deploy/postgres/app-roles.sql on a real PostgreSQL: the schema owner migrates, the app role reads and
writes rows and nothing else, and a worker without migration rights refuses a schema that is behind."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import asyncpg
import pytest

from db.migrate import MigrationError, apply_migrations, pending_migrations
from tests.fixtures.database import with_database
from workers.main import prepare_schema
from workers.settings import Settings

ROLES_SQL = Path(__file__).resolve().parents[2] / "deploy/postgres/app-roles.sql"


def _statements(sql: str) -> list[str]:
    """SQL statements of a psql script (meta-commands dropped), one by one: CREATE DATABASE refuses a block."""
    body = "\n".join(line for line in sql.splitlines() if not line.startswith("\\") and not line.startswith("--"))
    return [s.strip() for s in body.split(";") if s.strip()]


def _as_user(url: str, user: str) -> str:
    return re.sub(r"://[^@/]*@", f"://{user}@", url, count=1)


async def test_app_role_may_write_rows_but_not_change_the_schema(postgres_admin_url: str) -> None:
    suffix = secrets.token_hex(4)
    owner, app, db = f"centers_owner_{suffix}", f"centers_app_{suffix}", f"centers_roles_{suffix}"
    script = ROLES_SQL.read_text().replace("centers_owner", owner).replace("centers_app", app)
    script = script.replace("DATABASE centers", f"DATABASE {db}")
    before, after = script.split("\\connect centers")
    admin = await asyncpg.connect(postgres_admin_url)
    try:
        if not await admin.fetchval("SELECT rolcreaterole OR rolsuper FROM pg_roles WHERE rolname = current_user"):
            pytest.skip("the test server's role may not create roles")
        for statement in _statements(before):
            await admin.execute(statement)
    finally:
        await admin.close()
    url = with_database(postgres_admin_url, db)
    try:
        conn = await asyncpg.connect(url)
        try:
            for statement in _statements(after):
                await conn.execute(statement)
            await conn.execute(f"SET ROLE {owner}")  # the migrate job logs in as the owner
            assert await apply_migrations(conn)
        finally:
            await conn.close()

        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f"SET ROLE {app}")
            assert await conn.fetchval("SELECT count(*) FROM centers") == 0  # reads
            assert await conn.fetchval("SELECT has_table_privilege('outbox', 'INSERT, UPDATE')")
            for forbidden in ("CREATE TABLE sneaky (x int)", "DROP TABLE outbox", "DELETE FROM audit_log",
                              "TRUNCATE outbox", "ALTER TABLE centers ADD COLUMN x int"):
                with pytest.raises(asyncpg.InsufficientPrivilegeError):  # "must be owner" is one too (42501)
                    await conn.execute(forbidden)
        finally:
            await conn.close()

        # A worker as the app role, MIGRATE_ON_START=false: runs on a current schema...
        app_url = _as_user(url, app)
        settings = Settings(database_url=app_url, migrate_on_start=False, _env_file=None)
        assert await pending_migrations(app_url) == []
        await prepare_schema(settings, app_url)
        # ...and refuses one that is behind (here: a migration record removed by the owner).
        conn = await asyncpg.connect(url)
        try:
            await conn.execute("ALTER TABLE schema_migrations DISABLE TRIGGER ALL")
            last = await conn.fetchval("SELECT max(name) FROM schema_migrations")
            await conn.execute("DELETE FROM schema_migrations WHERE name = $1", last)
        finally:
            await conn.close()
        with pytest.raises(MigrationError, match="pending"):
            await prepare_schema(settings, app_url)
    finally:
        admin = await asyncpg.connect(postgres_admin_url)
        try:
            await admin.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            await admin.execute(f"DROP ROLE IF EXISTS {app}")
            await admin.execute(f"DROP ROLE IF EXISTS {owner}")
        finally:
            await admin.close()
