"""Fixtures of the operations tests: a Temporal dev server per test module, and a client for it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from workers.temporal_dev import DevServer, free_port, start_dev_server


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def ops_server(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[DevServer]:
    directory = tmp_path_factory.mktemp("temporal-ops")
    dev = await start_dev_server(directory / "t.sqlite", directory / "t.log", port=free_port(), headless=True)
    yield dev
    dev.stop()


@pytest_asyncio.fixture(loop_scope="session")
async def ops_client(ops_server: DevServer) -> Client:
    return await Client.connect(ops_server.address, data_converter=pydantic_data_converter)
