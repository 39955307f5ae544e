"""/healthz and /readyz for an orchestrator (compose health check, Kubernetes probes).

- /healthz: 200 while the process serves requests at all (liveness).
- /readyz: 200 once the worker polls its task queue and PostgreSQL answers; 503 otherwise, with the
  reason (readiness: take the worker out of rotation, do not restart it).

Two fixed paths and no body to parse: asyncio's stream server does it without a web framework.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable

import structlog

log = structlog.get_logger(__name__)

ReadyCheck = Callable[[], Awaitable[str | None]]  # None: ready; else why not


async def start_health_server(host: str, port: int, ready: ReadyCheck) -> asyncio.Server:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5)
            while (await asyncio.wait_for(reader.readline(), 5)) not in (b"\r\n", b"\n", b""):
                pass  # headers: nothing in them matters here
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else ""
            if path == "/healthz":
                status, body = 200, {"status": "alive"}
            elif path == "/readyz":
                try:
                    problem = await asyncio.wait_for(ready(), 5)
                except Exception as err:  # the check itself failing means not ready
                    problem = f"{type(err).__name__}: {err}"
                status, body = (200, {"status": "ready"}) if problem is None else (503, {"status": "not ready",
                                                                                        "reason": problem})
            else:
                status, body = 404, {"status": "not found", "paths": ["/healthz", "/readyz"]}
            data = json.dumps(body).encode()
            reason = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}[status]
            writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
                         f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode() + data)
            await writer.drain()
        except (asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, host, port)
    log.info("health endpoint listening", address=f"{host}:{port}", paths=["/healthz", "/readyz"])
    return server
