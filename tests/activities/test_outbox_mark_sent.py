"""The outbox: PostgreSQL goes away between the SMTP server's "250 OK" and the mark that the row was
sent. The sender waits for PostgreSQL and marks it, instead of leaving the row leased, which would
send the same message again when the lease expires (tests/faults/test_postgres_outage.py met this
race once the opening record landed faster, issue 11). Real PostgreSQL (its own embedded server,
stopped and started) and a real SMTP server."""

from __future__ import annotations

import shutil
import tempfile
import threading
import time
import uuid
from pathlib import Path

from aiosmtpd.controller import Controller

from db.embedded import start_embedded, stop_embedded
from db.mailer import deliver_pending, message_id_for
from db.migrate import apply_migrations
from db.outcomes import list_outbox, record_batch
from db.pool import create_pool
from models.effects import Email, OutcomeBatch
from models.mail import SmtpSettings
from tests.fixtures.mail import SmtpCollector, _free_port as free_port


class StopsPostgresOnAccept(SmtpCollector):
    """Accepts the message, but first stops PostgreSQL; it starts again 1.5 s later."""

    def __init__(self, pg_dir: Path) -> None:
        super().__init__()
        self.pg_dir = pg_dir
        self.restarted = threading.Event()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd hook)
        stop_embedded(self.pg_dir)

        def restart() -> None:
            time.sleep(1.5)
            start_embedded(self.pg_dir)
            self.restarted.set()

        threading.Thread(target=restart, daemon=True).start()
        return await super().handle_DATA(server, session, envelope)


async def test_a_message_accepted_while_postgresql_stops_is_marked_sent_once_it_returns():
    pg_dir = Path(tempfile.mkdtemp(prefix="centers-mark-"))  # short: the unix socket path has a limit
    url = start_embedded(pg_dir)
    pool = await create_pool(url, min_size=1, max_size=2)
    handler = StopsPostgresOnAccept(pg_dir)
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        await apply_migrations(pool)
        center = f"c-{uuid.uuid4().hex[:10]}"
        email = Email(key=f"{center}:probe", center_id=center, to=["wangmin@center.example"], rule_id="PD9",
                      subject="提醒", body="正文")
        async with pool.acquire() as conn:
            await record_batch(conn, OutcomeBatch(center_id=center, emails=[email]))
        smtp = SmtpSettings(host="127.0.0.1", port=controller.port, mail_from="no-reply@example.org")

        done = await deliver_pending(pool, smtp, [email.key])

        assert handler.restarted.is_set(), "PostgreSQL was stopped while the message was accepted"
        assert done.sent == [email.key]
        async with pool.acquire() as conn:
            [row] = await list_outbox(conn, center)
        assert row.sent_at is not None, "marked sent once PostgreSQL returned, not left leased"
        assert [m["Message-ID"] for m in handler.messages] == [message_id_for(email.key)]
        assert await deliver_pending(pool, smtp, [email.key]) is not None
        assert len(handler.messages) == 1, "never sent a second time"
    finally:
        controller.stop()
        await pool.close()
        stop_embedded(pg_dir)
        shutil.rmtree(pg_dir, ignore_errors=True)
