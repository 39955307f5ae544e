"""The asyncpg pools of the worker and the CLI: json codecs, and a bounded wait for a connection."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

# How long `acquire` waits when every connection is busy. Unbounded, one stalled user (a slow SMTP
# server, a long report) would hold every other activity hostage; bounded, the activity fails and
# Temporal retries it.
DEFAULT_ACQUIRE_TIMEOUT = 10.0


def _dumps(value: object) -> str:
    # ensure_ascii=False: Chinese text stays readable in logs and psql; jsonb stores it the same.
    return json.dumps(value, ensure_ascii=False)


async def init_connection(conn: asyncpg.Connection) -> None:
    """Decode json/jsonb to Python objects and encode them back, instead of raw strings."""
    for type_name in ("json", "jsonb"):
        await conn.set_type_codec(type_name, encoder=_dumps, decoder=json.loads, schema="pg_catalog")


_init_connection = init_connection  # the old private name


class TimedPool(asyncpg.Pool):
    """An asyncpg pool whose `acquire()` waits at most `acquire_timeout` seconds unless told otherwise."""

    def __init__(self, *args: Any, acquire_timeout: float = DEFAULT_ACQUIRE_TIMEOUT, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.acquire_timeout = acquire_timeout

    def acquire(self, *, timeout: float | None = None):  # type: ignore[no-untyped-def, override]
        return super().acquire(timeout=self.acquire_timeout if timeout is None else timeout)


async def create_pool(
    url: str,
    *,
    min_size: int = 1,
    max_size: int = 10,
    acquire_timeout: float = DEFAULT_ACQUIRE_TIMEOUT,
    command_timeout: float | None = 60,
) -> TimedPool:
    """A pool for `url` with the json codecs installed on every connection.

    Sizes: activities hold a connection only for one short transaction, so ten connections serve a
    worker's default activity concurrency without exhausting a small server. A stuck query fails the
    activity after `command_timeout` (Temporal retries it); migrations use their own connection
    (db.migrate.migrate_url), because a long migration must not be cut off.
    """
    # What asyncpg.create_pool does, with our subclass (create_pool has no pool_class argument).
    pool = TimedPool(
        url,
        min_size=min_size,
        max_size=max_size,
        max_queries=50000,
        max_inactive_connection_lifetime=300,
        connect=None,
        setup=None,
        init=init_connection,
        reset=None,
        loop=None,
        connection_class=asyncpg.Connection,
        record_class=asyncpg.Record,
        acquire_timeout=acquire_timeout,
        command_timeout=command_timeout,
    )
    await pool
    return pool
