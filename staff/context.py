"""What the staff work needs: settings, the Temporal client, the database, a clock.

The client and the database URL are injectable, so tests run the work in-process against a test
server and a test database; otherwise it connects lazily from the settings.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, field
from datetime import datetime, timezone

import asyncpg
from temporalio.client import Client

from staff.errors import Failed
from workers.settings import Settings


@dataclass
class StaffContext:
    settings: Settings
    client: Client | None = None
    database_url: str | None = None
    now: datetime | None = None  # wall-clock override for tests (overdue marks)
    client_role: str = "centers-cli"  # the Temporal client identity's role: who caused each history event
    _connected: bool = field(default=False, repr=False)

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
                    connect(self.settings, identity=default_identity(self.client_role, user)), 15
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
                self.database_url = await asyncio.to_thread(database_url, self.settings.database_url, self.settings.var_dir)
            except NoDatabase as err:  # says what to set already
                raise Failed(str(err)) from None
            except Exception as err:
                raise Failed(f"cannot find the database (DATABASE_URL unset, embedded server under "
                             f"{self.settings.var_dir}/pg): {err}") from None
        return self.database_url

    async def db(self) -> asyncpg.Connection:
        """One connection for one piece of work (the caller closes it)."""
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
