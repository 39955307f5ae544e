"""The asyncpg pool every worker and the CLI share."""

from __future__ import annotations

import json

import asyncpg


def _dumps(value: object) -> str:
    # ensure_ascii=False: Chinese text stays readable in logs and psql; jsonb stores it the same.
    return json.dumps(value, ensure_ascii=False)


async def _init_connection(conn: asyncpg.Connection) -> None:
    """Decode json/jsonb to Python objects and encode them back, instead of raw strings."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=_dumps, decoder=json.loads, schema="pg_catalog")


async def create_pool(url: str, *, min_size: int = 1, max_size: int = 10) -> asyncpg.Pool:
    """A pool for `url` with the json codecs installed on every connection.

    Sizes: activities hold a connection only for one short transaction (or one SMTP send), so ten
    connections serve a worker's default activity concurrency without exhausting a small server.
    """
    pool = await asyncpg.create_pool(
        url,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        command_timeout=60,  # a stuck query fails the activity, and Temporal retries it
        max_inactive_connection_lifetime=300,
    )
    assert pool is not None  # asyncpg types it Optional for the un-awaited form
    return pool
