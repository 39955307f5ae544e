"""The dev server starts from the venv binary with every search attribute of INTERFACE.md."""

from __future__ import annotations

from pathlib import Path

from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from models.search_attributes import ALL, CLI_TYPES
from workers.temporal_dev import dev_server_command, free_port, start_dev_server

_EXPECTED_TYPE = {
    "Keyword": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "Datetime": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
}


def test_command_registers_every_search_attribute(tmp_path: Path) -> None:
    argv = dev_server_command(Path("temporal"), tmp_path / "t.sqlite", "127.0.0.1", 7233, 8233, "default", False)
    pairs = {argv[i + 1] for i, arg in enumerate(argv) if arg == "--search-attribute"}
    assert pairs == {f"{key.name}={CLI_TYPES[key.name]}" for key in ALL}
    assert argv[argv.index("--db-filename") + 1] == str(tmp_path / "t.sqlite")


async def test_dev_server_has_our_search_attributes(tmp_path: Path) -> None:
    server = await start_dev_server(
        tmp_path / "temporal.sqlite", tmp_path / "temporal.log", port=free_port(), headless=True
    )
    try:
        client = await Client.connect(server.address, namespace="default")
        response = await client.operator_service.list_search_attributes(
            ListSearchAttributesRequest(namespace="default")
        )
        for key in ALL:
            assert response.custom_attributes.get(key.name) == _EXPECTED_TYPE[CLI_TYPES[key.name]], key.name
    finally:
        status = server.stop()
    assert status == 0  # SIGTERM is a clean stop, not a kill
    assert (tmp_path / "temporal.sqlite").exists()


async def test_restart_replaces_a_left_over_server(tmp_path: Path) -> None:
    """`make run` after a kill -9: the orphan on the same sqlite file is stopped, not fought over."""
    db, log, pid_file, port = tmp_path / "t.sqlite", tmp_path / "t.log", tmp_path / "t.pid", free_port()
    orphan = await start_dev_server(db, log, port=port, headless=True, pid_file=pid_file)
    try:
        server = await start_dev_server(db, log, port=port, headless=True, pid_file=pid_file)
        try:
            assert orphan.process.poll() is not None  # the left-over one was stopped
            assert pid_file.read_text().strip() == str(server.process.pid)
        finally:
            server.stop()
    finally:
        orphan.stop()
