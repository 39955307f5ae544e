"""An embedded PostgreSQL 16 (pgserver) for the dev stack and tests.

pgserver quirks worth knowing:
- as root it runs postgres as the system user `pgserver` (created on first use),
  chowns the data dir to it and adds o+rx to every parent directory;
- postgres listens on a unix socket only (no TCP port), in the data dir itself when
  that path is short enough (108-byte AF_UNIX limit), else under
  $XDG_RUNTIME_DIR/python_PostgresServer/<hash>; hence "keep VAR_DIR short";
- `cleanup_mode=None` leaves the server running after this process ends, so the next
  run (or the CLI) reuses it; `stop_embedded` stops it for good.
"""

from __future__ import annotations

import atexit
import os
import subprocess
import warnings
from pathlib import Path
from urllib.parse import quote


_DATABASE = "postgres"  # pgserver's trust-auth superuser and its default database
_USER = "postgres"


def _pgserver():  # type: ignore[no-untyped-def]
    """Import pgserver lazily: it is heavy and only the embedded mode needs it."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset; pgserver then uses /tmp/runtime-$UID.
        warnings.simplefilter("ignore")
        import pgserver

    return pgserver


def _uri(socket_dir: Path) -> str:
    """An asyncpg/libpq URI for a unix socket dir (percent-encoded, so odd paths survive)."""
    return f"postgresql://{_USER}@/{_DATABASE}?host={quote(str(socket_dir), safe='/')}"


def start_embedded(path: Path | str) -> str:
    """Start (or reuse the already running) server whose data dir is `path`; return its URI.

    The parent of `path` is created if needed; the server keeps running after we exit.
    """
    pgdata = Path(path).expanduser().resolve()
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    server = _pgserver().get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    if info.socket_dir is None:  # only on Windows, which we do not target
        return server.get_uri()
    return _uri(info.socket_dir)


def stop_embedded(path: Path | str) -> bool:
    """Stop the server of data dir `path` (fast shutdown); True if one was running.

    We call pg_ctl ourselves: pgserver's own cleanup only stops the server when its
    on-disk list of client pids holds just this process, which is never reliable here
    because our processes end through os._exit (see workers.exit) and never deregister.
    """
    pgserver = _pgserver()
    from pgserver.utils import PostmasterInfo

    pgdata = Path(path).expanduser().resolve()
    info = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    if info is None or not info.is_running():
        return False
    # postgres refuses to run as root; pgserver runs it as `pgserver` then.
    user = "pgserver" if os.geteuid() == 0 else None
    try:
        pgserver.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user, timeout=30)
    except subprocess.CalledProcessError:
        return False  # it went away between the check and the stop
    _forget_handle(pgserver.PostgresServer, pgdata)
    return True


def _forget_handle(cls: type, pgdata: Path) -> None:
    """Drop pgserver's cached handle so a later start_embedded really starts it again."""
    handle = cls._instances.pop(pgdata, None)
    if handle is not None:
        atexit.unregister(handle._cleanup)  # it would KeyError on the popped entry at exit
    (pgdata / ".handle_pids.json").write_text("[]")  # no process holds a live handle now


class NoDatabase(RuntimeError):
    """DATABASE_URL is unset and there is no dev-stack database to fall back on."""


def database_url(url: str | None, var_dir: Path | str) -> str:
    """DATABASE_URL when set; otherwise the dev stack's embedded server under VAR_DIR/pg.

    Only `make run` (workers.devstack) creates that database. Anyone else (a worker in production,
    the CLI on a staff machine) reuses one that exists, starting it if it is stopped, and never
    silently creates an empty one: a forgotten DATABASE_URL must not look like "no centers".
    """
    if url:
        return url
    pgdata = Path(var_dir) / "pg"
    if not (pgdata / "PG_VERSION").exists():
        raise NoDatabase(
            f"DATABASE_URL is not set and there is no dev-stack database under {pgdata.resolve()}: set "
            "DATABASE_URL (postgresql://user:password@host:5432/db), or start the dev stack with `make run`"
        )
    return start_embedded(pgdata)
