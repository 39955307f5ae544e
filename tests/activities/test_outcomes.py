"""Outcomes in PostgreSQL and the mail outbox, against a real database and a real SMTP server.

Covers INTERFACE.md "PostgreSQL (outcomes)" and "Email", DESIGN.md "Side effects exactly once",
and PD7 (bans). Every test uses its own random center ids and credit codes, so they share the
session database without seeing each other's rows.
"""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.outcomes import OutcomeActivities
from db.mailer import build_message, deliver_pending, message_id_for
from db.migrate import MIGRATIONS_DIR, MigrationError, apply_migrations, migration_files
from db.outcomes import active_bans, get_center, list_audit, list_outbox, record_batch
from models.effects import AuditEntry, Ban, BanQuery, CenterSnapshot, Email, OutcomeBatch
from models.mail import SmtpSettings

T0 = datetime(2026, 3, 2, 1, 30, tzinfo=timezone.utc)
SUBJECT = "【提醒】舟山市新材料产业创新中心：整改期（M2）将于 2027年3月2日 24:00 届满"
BODY = "请于截止日前提交整改报告。\n如有疑问，请联系市科技局。\n\nRectification (M2) ends 2027-03-02 24:00."


def new_center() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def new_code() -> str:
    return f"91330900{uuid.uuid4().hex[:10].upper()}"  # unique; validity is not this layer's job


def audit(center_id: str, n: int, **changes: object) -> AuditEntry:
    return AuditEntry.model_validate({
        "key": f"{center_id}:req-{n}", "center_id": center_id, "at": T0 + timedelta(minutes=n),
        "action": "submit_application", "outcome": "accepted", "actor_name": "王芳",
        "actor_role": "implementing_entity", "request_id": f"req-{n}", "rule_ids": ["D3", "D4"],
        "phase_before": "preparing", "phase_after": "county_review", "summary": "申请已提交",
        "detail": {"材料": ["诚信承诺书"], "due": date(2026, 4, 1), "nested": {"n": n}},
    } | changes)  # fmt: skip


def email(center_id: str, n: int, **changes: object) -> Email:
    return Email.model_validate({
        "key": f"{center_id}:deadline-{n}:30d", "center_id": center_id,
        "to": ["wang.fang@entity.example", "李雷 <li.lei@county.example>"],
        "subject": SUBJECT, "body": BODY, "rule_id": "M2",
    } | changes)  # fmt: skip


def ban(center_id: str, code: str, **changes: object) -> Ban:
    return Ban.model_validate({
        "key": f"{center_id}:ban:{code}", "center_id": center_id, "subject_kind": "implementing_entity",
        "credit_code": code, "subject_name": "舟山某某科技有限公司", "scope": "any", "field": None,
        "rule_id": "M2", "starts_on": date(2026, 1, 10), "ends_on": date(2028, 1, 9), "reason": "摘牌 (M2)",
    } | changes)  # fmt: skip


def snapshot(center_id: str, revision: int, phase: str, opened_at: datetime = T0) -> CenterSnapshot:
    return CenterSnapshot(
        center_id=center_id, opened_at=opened_at, revision=revision, name="舟山市新材料产业创新中心", county="dinghai",
        field="new_materials", route="directed", phase=phase, credit_code=new_code(), lead_unit="定海区人民政府",
        updated_at=T0 + timedelta(days=revision),
    )  # fmt: skip


async def count(conn: asyncpg.Connection, table: str, center_id: str) -> int:
    return await conn.fetchval(f"SELECT count(*) FROM {table} WHERE center_id = $1", center_id)


# --- migrations ---------------------------------------------------------------------------------


async def test_migrations_apply_once_then_nothing(blank_database_url: str) -> None:
    conn = await asyncpg.connect(blank_database_url)
    try:
        first = await apply_migrations(conn)
        second = await apply_migrations(conn)
        recorded = await conn.fetch("SELECT name, checksum FROM schema_migrations ORDER BY name")
    finally:
        await conn.close()
    assert first == [p.name for p in migration_files()] and first[0] == "001_core.sql"
    assert second == []
    assert [r["name"] for r in recorded] == first


async def test_migrations_two_workers_at_once_apply_each_file_once(blank_database_url: str) -> None:
    """The advisory lock serialises workers starting together: no error, every file once."""
    a, b = await asyncpg.connect(blank_database_url), await asyncpg.connect(blank_database_url)
    try:
        results = await asyncio.gather(apply_migrations(a), apply_migrations(b))
    finally:
        await a.close()
        await b.close()
    assert sorted(results, key=len) == [[], [p.name for p in migration_files()]]


async def test_migration_changed_after_apply_is_refused(blank_database_url: str, tmp_path: Path) -> None:
    for path in migration_files():
        shutil.copy(path, tmp_path / path.name)
    conn = await asyncpg.connect(blank_database_url)
    try:
        await apply_migrations(conn, tmp_path)
        edited = tmp_path / "001_core.sql"
        edited.write_text(edited.read_text(encoding="utf-8") + "\n-- edited\n", encoding="utf-8")
        (tmp_path / "999_probe.sql").write_text("CREATE TABLE probe (id int);", encoding="utf-8")
        with pytest.raises(MigrationError, match="001_core.sql was changed after it was applied"):
            await apply_migrations(conn, tmp_path)
        # a bad tree changes nothing: the new file after it was not applied either
        assert await conn.fetchval("SELECT to_regclass('probe')") is None
        # and the lock was released: the untouched directory still migrates fine
        assert await apply_migrations(conn, MIGRATIONS_DIR) == []
    finally:
        await conn.close()


async def test_migration_misnamed_file_is_refused(blank_database_url: str, tmp_path: Path) -> None:
    (tmp_path / "core.sql").write_text("SELECT 1;", encoding="utf-8")
    conn = await asyncpg.connect(blank_database_url)
    try:
        with pytest.raises(MigrationError, match="NNN_name.sql: core.sql"):
            await apply_migrations(conn, tmp_path)
    finally:
        await conn.close()


# --- record_batch -------------------------------------------------------------------------------


async def test_record_batch_twice_writes_once(db_pool: asyncpg.Pool) -> None:
    center = new_center()
    batch = OutcomeBatch(
        center_id=center,
        audits=[audit(center, 1), audit(center, 2, outcome="rejected", summary="重复提交被拒绝")],
        emails=[email(center, 1)],
        bans=[ban(center, new_code())],
        snapshot=snapshot(center, 1, "county_review"),
    )
    acts = OutcomeActivities(db_pool, SmtpSettings(host="unused", port=25, mail_from="x@example.org"))
    await ActivityEnvironment().run(acts.record_outcomes, batch)
    await ActivityEnvironment().run(acts.record_outcomes, batch)  # an activity retry
    async with db_pool.acquire() as conn:
        await record_batch(conn, batch)  # and the repository function itself, once more
        counts = [await count(conn, t, center) for t in ("audit_log", "bans", "outbox", "centers")]
        audits = await list_audit(conn, center)
        outbox = await list_outbox(conn, center)
    assert counts == [2, 1, 1, 1]
    # round trip: detail (Chinese, a date, nesting) and rule_ids come back as written
    assert audits == [a.model_copy(update={"detail": a.model_dump(mode="json")["detail"]}) for a in batch.audits]
    assert outbox[0].message_id == message_id_for(batch.emails[0].key)
    assert outbox[0].recipients == batch.emails[0].to and outbox[0].sent_at is None


async def test_record_batch_is_one_transaction(db_pool: asyncpg.Pool) -> None:
    """A batch the database refuses (ban ending before it starts) leaves no partial rows."""
    center = new_center()
    bad = ban(center, new_code(), starts_on=date(2026, 1, 10), ends_on=date(2026, 1, 9))
    batch = OutcomeBatch(center_id=center, audits=[audit(center, 1)], emails=[email(center, 1)], bans=[bad])
    async with db_pool.acquire() as conn:
        with pytest.raises(asyncpg.CheckViolationError):
            await record_batch(conn, batch)
        assert [await count(conn, t, center) for t in ("audit_log", "bans", "outbox")] == [0, 0, 0]


async def test_audit_log_refuses_update_delete_and_truncate(db_pool: asyncpg.Pool) -> None:
    center = new_center()
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=center, audits=[audit(center, 1)]))
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only: UPDATE refused"):
            await conn.execute("UPDATE audit_log SET summary = 'x' WHERE center_id = $1", center)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only: DELETE refused"):
            await conn.execute("DELETE FROM audit_log WHERE center_id = $1", center)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only: TRUNCATE refused"):
            async with conn.transaction():  # rolled back either way: never empty the shared log
                await conn.execute("TRUNCATE audit_log")
        assert [a.summary for a in await list_audit(conn, center)] == ["申请已提交"]


async def test_snapshot_older_revision_does_not_overwrite(db_pool: asyncpg.Pool) -> None:
    center = new_center()
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=center, snapshot=snapshot(center, 2, "designated")))
        await record_batch(conn, OutcomeBatch(center_id=center, snapshot=snapshot(center, 1, "county_review")))
        kept = await get_center(conn, center)
        await record_batch(conn, OutcomeBatch(center_id=center, snapshot=snapshot(center, 3, "rectifying")))
        newer = await get_center(conn, center)
    assert kept is not None and (kept.revision, kept.phase) == (2, "designated")
    assert newer is not None and (newer.revision, newer.phase) == (3, "rectifying")


async def test_snapshot_of_a_new_lifecycle_replaces_the_ended_one(db_pool: asyncpg.Pool) -> None:
    """A center restarted after an ended lifecycle: its row follows the new one from revision 1."""
    center = new_center()
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=center, snapshot=snapshot(center, 9, "withdrawn")))
        later = T0 + timedelta(days=400)
        await record_batch(conn, OutcomeBatch(center_id=center, snapshot=snapshot(center, 1, "preparing", later)))
        await record_batch(conn, OutcomeBatch(center_id=center, snapshot=snapshot(center, 10, "withdrawn")))
        row = await get_center(conn, center)
    assert row is not None and (row.revision, row.phase, row.opened_at) == (1, "preparing", later)


# --- PD7 bans -----------------------------------------------------------------------------------


async def test_pd7_active_bans_by_scope_and_date(db_pool: asyncpg.Pool) -> None:
    """PD7: delisting (M2) bars the implementing entity from any field; revocation (M4) bars the
    lead unit from the same field only; both end on ends_on, inclusive."""
    center, entity, lead = new_center(), new_code(), new_code()
    delisted = ban(center, entity)  # implementing entity, scope any, 2026-01-10 .. 2028-01-09
    revoked = ban(
        center, lead, subject_kind="lead_unit", scope="same_type", field="new_materials", rule_id="M4",
        starts_on=date(2026, 3, 1), ends_on=date(2028, 2, 29), reason="撤销认定 (M4)",
    )  # fmt: skip
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=center, bans=[delisted, revoked]))

    def q(entity_code: str, lead_code: str, field: str, on: date) -> BanQuery:
        return BanQuery(implementing_entity_code=entity_code, lead_unit_code=lead_code, field=field, on=on)

    other = new_code()
    acts = OutcomeActivities(db_pool, SmtpSettings(host="unused", port=25, mail_from="x@example.org"))
    found = await ActivityEnvironment().run(acts.find_active_bans, q(entity, other, "marine_biomedicine", date(2027, 1, 1)))
    assert found == [delisted]  # implementing-entity ban: any field, through the activity
    async with db_pool.acquire() as conn:
        assert await active_bans(conn, q(entity, other, "new_materials", date(2028, 1, 9))) == [delisted]  # last day
        assert await active_bans(conn, q(entity, other, "new_materials", date(2028, 1, 10))) == []  # day after
        assert await active_bans(conn, q(entity, other, "new_materials", date(2026, 1, 9))) == []  # before start
        assert await active_bans(conn, q(other, lead, "new_materials", date(2027, 6, 1))) == [revoked]  # same field
        assert await active_bans(conn, q(other, lead, "ships_offshore", date(2027, 6, 1))) == []  # other field
        assert await active_bans(conn, q(other, lead, "new_materials", date(2028, 3, 1))) == []  # after ends_on
        both = await active_bans(conn, q(entity, lead, "new_materials", date(2027, 6, 1)))
        assert both == [revoked, delisted]  # longest-running first
        # bans bind a body in the role it was banned in: the delisted entity as a lead unit is not hit
        assert await active_bans(conn, q(other, entity, "new_materials", date(2027, 6, 1))) == []


# --- mail -------------------------------------------------------------------------------------


def received(smtp_server, message_id: str) -> list:  # type: ignore[no-untyped-def]
    return [m for m in smtp_server.messages if m["Message-ID"] == message_id]


async def test_deliver_mail_sends_once_with_chinese_subject_and_deterministic_message_id(
    db_pool: asyncpg.Pool, smtp_server, smtp_settings: SmtpSettings  # type: ignore[no-untyped-def]
) -> None:
    center = new_center()
    emails = [email(center, 1), email(center, 2, to=["zhou.min@bureau.example"], rule_id="D7")]
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=center, emails=emails))
    acts = OutcomeActivities(db_pool, smtp_settings)
    env = ActivityEnvironment()
    heartbeats: list[tuple] = []
    env.on_heartbeat = lambda *details: heartbeats.append(details)
    keys = [e.key for e in emails]

    assert await env.run(acts.deliver_mail, keys) == 2
    assert await env.run(acts.deliver_mail, keys) == 0  # a retry after success sends nothing
    assert heartbeats == [(keys[0],), (keys[1],)]

    message_id = message_id_for(emails[0].key)
    assert message_id == f"<{hashlib.sha256(emails[0].key.encode()).hexdigest()[:32]}@innovation-centers.zhoushan>"
    msg = await smtp_server.wait_for(lambda m: m["Message-ID"] == message_id, timeout=5)
    assert received(smtp_server, message_id) == [msg]  # exactly one
    assert msg["Subject"] == SUBJECT  # RFC 2047 on the wire, decoded intact
    assert msg.get_content() == BODY + "\n"
    assert msg["From"].addresses[0].display_name == "舟山市科技局"
    assert msg["To"].addresses[1].display_name == "李雷"
    assert msg["X-Rule-Id"] == "M2" and msg["Auto-Submitted"] == "auto-generated"
    assert b"=?utf-8?" in bytes(msg)  # headers went out ASCII-only, no SMTPUTF8 needed
    envelope = smtp_server.envelopes[smtp_server.messages.index(msg)]
    assert envelope == ("no-reply@kjj.zhoushan.example", ["wang.fang@entity.example", "li.lei@county.example"])
    assert len(received(smtp_server, message_id_for(emails[1].key))) == 1

    async with db_pool.acquire() as conn:
        rows = await list_outbox(conn, center)
    assert all(r.sent_at is not None and r.attempts == 1 and r.last_error is None for r in rows)
    # the same row always builds the same bytes, so a resend could be recognised downstream
    assert build_message(rows[0], smtp_settings.mail_from).as_bytes() == build_message(rows[0], smtp_settings.mail_from).as_bytes()


async def test_deliver_mail_crash_then_retry_sends_once(
    db_pool: asyncpg.Pool, smtp_server, smtp_settings: SmtpSettings  # type: ignore[no-untyped-def]
) -> None:
    """Attempt 1 cannot reach SMTP (the failure is noted on the row and the activity fails
    retryably); attempt 2 sends; attempt 3 is a replay after a crash that happened after the send
    was marked, and sends nothing."""
    center = new_center()
    mail = email(center, 1)
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=center, emails=[mail]))
    closed_port = SmtpSettings(**(smtp_settings.model_dump() | {"port": _closed_port()}))
    env = ActivityEnvironment()

    with pytest.raises(ApplicationError) as not_yet:
        await env.run(OutcomeActivities(db_pool, closed_port).deliver_mail, [mail.key])
    assert not_yet.value.type == "OutboxBusy" and not not_yet.value.non_retryable
    async with db_pool.acquire() as conn:
        [row] = await list_outbox(conn, center)
    assert row.sent_at is None and row.attempts == 1 and row.last_error

    acts = OutcomeActivities(db_pool, smtp_settings)
    assert await env.run(acts.deliver_mail, [mail.key]) == 1
    assert await env.run(acts.deliver_mail, [mail.key]) == 0
    assert len(received(smtp_server, message_id_for(mail.key))) == 1
    async with db_pool.acquire() as conn:
        [row] = await list_outbox(conn, center)
    assert row.sent_at is not None and row.attempts == 2


async def test_deliver_mail_waits_for_a_row_locked_by_another_worker(
    db_pool: asyncpg.Pool, smtp_server, smtp_settings: SmtpSettings  # type: ignore[no-untyped-def]
) -> None:
    """A row another worker is sending is skipped, and the activity fails retryably until it is sent."""
    center = new_center()
    mail = email(center, 1)
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=center, emails=[mail]))
    acts = OutcomeActivities(db_pool, smtp_settings)
    async with db_pool.acquire() as other_worker:
        async with other_worker.transaction():
            await other_worker.execute("SELECT 1 FROM outbox WHERE key = $1 FOR UPDATE", mail.key)
            with pytest.raises(ApplicationError) as busy:
                await ActivityEnvironment().run(acts.deliver_mail, [mail.key])
            assert busy.value.type == "OutboxBusy" and not busy.value.non_retryable
            assert received(smtp_server, message_id_for(mail.key)) == []
        # the other worker died before sending: its lock is gone, the retry sends
    assert await ActivityEnvironment().run(acts.deliver_mail, [mail.key]) == 1
    assert len(received(smtp_server, message_id_for(mail.key))) == 1


async def test_deliver_pending_two_workers_at_once_send_each_row_once(
    db_pool: asyncpg.Pool, smtp_server, smtp_settings: SmtpSettings  # type: ignore[no-untyped-def]
) -> None:
    center = new_center()
    emails = [email(center, n) for n in range(6)]
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id=center, emails=emails))
    keys = [e.key for e in emails]
    a, b = await asyncio.gather(
        deliver_pending(db_pool, smtp_settings, keys), deliver_pending(db_pool, smtp_settings, keys)
    )
    assert sorted(a.sent + b.sent) == sorted(keys)
    assert all(len(received(smtp_server, message_id_for(k))) == 1 for k in keys)
    # the sweep (keys=None) finds nothing left of these
    assert not set((await deliver_pending(db_pool, smtp_settings)).sent) & set(keys)


async def test_deliver_mail_unknown_key_is_not_retried(db_pool: asyncpg.Pool, smtp_settings: SmtpSettings) -> None:
    acts = OutcomeActivities(db_pool, smtp_settings)
    with pytest.raises(ApplicationError) as err:
        await ActivityEnvironment().run(acts.deliver_mail, [f"{new_center()}:never-recorded"])
    assert err.value.type == "UnknownOutboxKey" and err.value.non_retryable


# --- registry -----------------------------------------------------------------------------------


def test_build_activities_registers_every_activity(db_pool: asyncpg.Pool) -> None:
    pytest.importorskip("activities.calendar", reason="activities.calendar is written in parallel")
    from activities.registry import build_activities

    settings = SimpleNamespace(
        SMTP_HOST="mail.example", SMTP_PORT=587, SMTP_USERNAME="bot", SMTP_PASSWORD=None,
        SMTP_STARTTLS=True, MAIL_FROM="bot@example.org",
    )  # fmt: skip
    names = [fn.__name__ for fn in build_activities(db_pool, settings)]
    assert names == ["record_outcomes", "deliver_mail", "find_active_bans", "compute_notice_end", "settle_period_ends",
                     "reserve_advance", "reserve_subsidy_advance", "find_live_centers_named", "load_status_board"]


def test_smtp_settings_from_worker_settings() -> None:
    from workers.settings import Settings

    settings = Settings(
        _env_file=None, SMTP_HOST="mail.example", SMTP_PORT=465, SMTP_USERNAME="bot",
        SMTP_PASSWORD="s3cret", SMTP_STARTTLS=False, MAIL_FROM="舟山市科技局 <bot@example.org>",
    )  # fmt: skip
    smtp = SmtpSettings.from_settings(settings)
    assert (smtp.host, smtp.port, smtp.username, smtp.starttls) == ("mail.example", 465, "bot", False)
    assert smtp.password is not None and smtp.password.get_secret_value() == "s3cret"
    assert smtp.mail_from == "舟山市科技局 <bot@example.org>"
    lower = SimpleNamespace(smtp_host="h", smtp_port=25, smtp_username=None, smtp_password=None,
                            smtp_starttls=True, mail_from="a@b.example")
    assert SmtpSettings.from_settings(lower).starttls is True


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:  # bound, never listening: connections are refused
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
