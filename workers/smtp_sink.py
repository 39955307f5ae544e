"""A local SMTP sink: every message it accepts is written to a directory as an .eml file.

The dev stack (`make run`) points the worker at it, so notifications can be read
without a real mail server. File name: UTC timestamp + sanitized Message-ID.
Run alone with `python -m workers.smtp_sink [--host H] [--port P] [--dir D]`.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import threading
import uuid
from datetime import datetime, timezone
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, Session, SMTP

_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]+")


def eml_name(message_id: str | None, now: datetime | None = None) -> str:
    """`20250101T080000.123456Z_<id>.eml`; sorts by arrival, safe on every filesystem."""
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%dT%H%M%S.%fZ")
    ident = _UNSAFE.sub("_", (message_id or "").strip().strip("<>"))[:120].strip("_")
    return f"{stamp}_{ident or 'no-message-id-' + uuid.uuid4().hex[:12]}.eml"


class EmlDirectoryHandler:
    """aiosmtpd handler writing each message, envelope first, into `directory`."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        headers = BytesHeaderParser().parsebytes(content, headersonly=True)
        # The envelope is not part of the message; keep it so tests can see who was addressed.
        envelope_lines = (
            f"X-Sink-Envelope-From: {envelope.mail_from}\r\n"
            f"X-Sink-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        self._write(eml_name(headers.get("Message-ID")), envelope_lines + content)
        return "250 Message accepted for delivery"

    def _write(self, name: str, data: bytes) -> None:
        # write-then-rename: a reader polling the directory never sees half a message
        tmp = self.directory / f".{name}.tmp"
        tmp.write_bytes(data)
        target = self.directory / name
        if target.exists():  # same Message-ID within the same microsecond: keep both
            target = target.with_name(f"{target.stem}-{uuid.uuid4().hex[:6]}.eml")
        os.replace(tmp, target)


def _accept_any_login(*_args: Any) -> AuthResult:
    """Dev sink: any SMTP_USERNAME/SMTP_PASSWORD is accepted, so AUTH config can be tried locally."""
    return AuthResult(success=True)


def start_sink(host: str, port: int, directory: Path | str) -> Controller:
    """Start the sink in a background thread; call `.stop()` on the result to end it."""
    controller = Controller(
        EmlDirectoryHandler(Path(directory)),
        hostname=host,
        port=port,
        enable_SMTPUTF8=True,  # accept non-ASCII addresses and headers
        authenticator=_accept_any_login,
        auth_require_tls=False,
    )
    controller.start()
    return controller


def main() -> None:
    """Run the sink in the foreground until Ctrl-C or SIGTERM."""
    from workers.settings import get_settings

    settings = get_settings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=settings.smtp_port)
    parser.add_argument("--dir", type=Path, default=Path(settings.var_dir) / "mail")
    args = parser.parse_args()
    done = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: done.set())
    signal.signal(signal.SIGINT, lambda *_: done.set())
    controller = start_sink(args.host, args.port, args.dir)
    print(f"SMTP sink on {args.host}:{args.port}, writing to {args.dir.resolve()}", flush=True)
    done.wait()
    controller.stop()


if __name__ == "__main__":
    main()
