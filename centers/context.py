"""What every command works with: settings, output streams, the Temporal client, the database.

The client and the database URL are injectable, so tests run the commands in-process against a
test server and a test database; the console script connects lazily from the settings.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TextIO

import asyncpg
from temporalio.client import Client

from centers.errors import Failed
from workers.settings import Settings


@dataclass
class Context:
    settings: Settings
    out: TextIO
    err: TextIO
    client: Client | None = None
    database_url: str | None = None
    now: datetime | None = None  # wall-clock override for tests (overdue marks)
    json_mode: bool = False  # `centers --json`: stdout carries one JSON document, every note goes to stderr
    _connected: bool = field(default=False, repr=False)

    def print(self, text: str = "") -> None:
        """Text for people: stdout, or stderr under --json (so stdout stays pure JSON)."""
        (self.err if self.json_mode else self.out).write(text + "\n")

    def emit(self, document: object) -> None:
        """The command's machine-readable answer: one JSON document on stdout."""
        self.out.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")

    def clock(self) -> datetime:
        return self.now or datetime.now(timezone.utc)

    async def temporal(self) -> Client:
        """The injected client, else one connected from TEMPORAL_ADDRESS / TEMPORAL_NAMESPACE."""
        if self.client is None:
            address, namespace = self.settings.temporal_address, self.settings.temporal_namespace
            try:
                from workers.temporal_client import connect, default_identity

                # The identity names the staff user in every history event this client causes.
                user = os.environ.get("CENTERS_ACTOR_NAME")
                self.client = await asyncio.wait_for(
                    connect(self.settings, identity=default_identity("centers-cli", user)), 15
                )
            except Exception as err:  # refused, DNS, TLS, timeout: one clear line for staff
                raise Failed(f"cannot reach Temporal at {address} (namespace {namespace}): {err or type(err).__name__}"
                             " -- is the service running (make run), and is TEMPORAL_ADDRESS right?") from None
            self._connected = True
        return self.client

    async def db_url(self) -> str:
        """The injected URL, else DATABASE_URL, else the embedded server under VAR_DIR/pg."""
        if self.database_url is None:
            from db.embedded import NoDatabase, database_url

            try:
                self.database_url = await asyncio.to_thread(database_url, self.settings)
            except NoDatabase as err:  # says what to set already
                raise Failed(str(err)) from None
            except Exception as err:
                raise Failed(f"cannot find the database (DATABASE_URL unset, embedded server under "
                             f"{self.settings.var_dir}/pg): {err}") from None
        return self.database_url

    async def db(self) -> asyncpg.Connection:
        """One connection for one command (the caller closes it)."""
        url = await self.db_url()
        try:
            return await asyncpg.connect(url, timeout=15)
        except Exception as err:
            raise Failed(f"cannot connect to PostgreSQL: {err}") from None

    def ui_link(self, workflow_id: str) -> str:
        s = self.settings
        return f"http://localhost:{s.temporal_ui_port}/namespaces/{s.temporal_namespace}/workflows/{workflow_id}"

    def close(self) -> None:
        """Release the client we connected (the SDK has no close(); the connection goes with it)."""
        if self._connected:
            self.client = None
            self._connected = False
