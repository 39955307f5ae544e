"""Outcome repository: audit log, center snapshots, bans (PD7) and the outbox.

Plain async functions over an asyncpg connection. Writes are idempotent (INSERT ... ON CONFLICT
(key) DO NOTHING), so an activity retry never doubles a row (DESIGN.md, "Side effects exactly
once"). jsonb goes through ``::text`` casts so these functions work on any connection, with or
without the codec that db.pool installs.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import asyncpg

from db.ledger import record_entries
from db.mailer import message_id_for
from models.effects import AuditEntry, Ban, BanQuery, CenterSnapshot, Email, OutcomeBatch
from models.mail import OutboxEntry
from models.text import header_safe
from rules.calendar import CalendarNotCovered, WorkingDayCalendar, default_calendar, legal_last_day

_AUDIT_COLUMNS = (
    "key, center_id, at, action, outcome, actor_name, actor_role, actor_county, request_id, "
    "rule_ids, phase_before, phase_after, summary, actor_user_id"  # actor_user_id: migration 005
)
_INSERT_AUDIT = f"""
    INSERT INTO audit_log ({_AUDIT_COLUMNS}, detail)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15::text::jsonb)
    ON CONFLICT (key) DO NOTHING
"""
_BAN_COLUMNS = (
    "key, center_id, subject_kind, credit_code, subject_name, scope, field, rule_id, starts_on, ends_on, reason, "
    "nominal_ends_on, provisional"
)
_INSERT_BAN = f"""
    INSERT INTO bans ({_BAN_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
    ON CONFLICT (key) DO NOTHING
"""
_OUTBOX_COLUMNS = "key, center_id, recipients, subject, body, rule_id, message_id"
_INSERT_OUTBOX = f"""
    INSERT INTO outbox ({_OUTBOX_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7)
    ON CONFLICT (key) DO NOTHING
"""
_SNAPSHOT_COLUMNS = (
    "center_id, revision, name, county, field, route, phase, credit_code, lead_unit, "
    "designated_on, last_grade, next_deadline_at, updated_at, opened_at, overdue_count, oldest_overdue_at"
)
# The WHERE makes an older lifecycle, or an older (or repeated) revision, a no-op: a late retry never rolls a center back.
_UPSERT_SNAPSHOT = f"""
    INSERT INTO centers ({_SNAPSHOT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)
    ON CONFLICT (center_id) DO UPDATE SET
        {", ".join(f"{c} = EXCLUDED.{c}" for c in _SNAPSHOT_COLUMNS.split(", ")[1:])},
        recorded_at = now()
    WHERE (centers.opened_at, centers.revision) < (EXCLUDED.opened_at, EXCLUDED.revision)
"""


async def record_batch(conn: asyncpg.Connection, batch: OutcomeBatch) -> None:
    """Write one lifecycle step's audits, bans, ledger entries, emails and snapshot in ONE transaction."""
    async with conn.transaction():
        if batch.audits:
            await conn.executemany(_INSERT_AUDIT, [_audit_args(a) for a in batch.audits])
        if batch.bans:
            await conn.executemany(_INSERT_BAN, [_ban_args(b) for b in batch.bans])
        if batch.ledger:
            await record_entries(conn, batch.ledger)
        if batch.emails:
            await conn.executemany(_INSERT_OUTBOX, [_outbox_args(e) for e in batch.emails])
        if batch.snapshot is not None:
            await conn.execute(_UPSERT_SNAPSHOT, *_snapshot_args(batch.snapshot))


async def record_batch_salvage(conn: asyncpg.Connection, batch: OutcomeBatch) -> list[str]:
    """After the whole batch was refused: write each row on its own (a savepoint each), skip the
    ones PostgreSQL refuses, and add an audit note naming them. Returns what was skipped."""
    skipped: list[str] = []
    parts: list[tuple[str, str, tuple]] = (
        [(f"audit {a.key}", _INSERT_AUDIT, _audit_args(a)) for a in batch.audits]
        + [(f"ban {b.key}", _INSERT_BAN, _ban_args(b)) for b in batch.bans]
        + [(f"mail {e.key}", _INSERT_OUTBOX, _outbox_args(e)) for e in batch.emails]
        + ([("snapshot", _UPSERT_SNAPSHOT, _snapshot_args(batch.snapshot))] if batch.snapshot else [])
    )
    async with conn.transaction():
        for entry in batch.ledger:
            try:
                async with conn.transaction():
                    await record_entries(conn, [entry])
            except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError):
                skipped.append(f"ledger {entry.key}")
        for name, sql, args in parts:
            try:
                async with conn.transaction():
                    await conn.execute(sql, *args)
            except (asyncpg.DataError, asyncpg.IntegrityConstraintViolationError):
                skipped.append(name)
        first = batch.audits[0] if batch.audits else None
        await conn.execute(
            _INSERT_AUDIT,
            f"{first.key if first else batch.center_id}:not-recorded", batch.center_id,
            first.at if first else datetime.now(UTC), "record_failed", "automatic",
            None, None, None, None, [], None, None,
            header_safe(f"PostgreSQL refused part of this step's record: {', '.join(skipped)}")[:1000],
            None,  # actor_user_id: an automatic note
            json.dumps({"skipped": skipped}),
        )
    return skipped


async def active_bans(
    conn: asyncpg.Connection, query: BanQuery, calendar: WorkingDayCalendar | None = None
) -> list[Ban]:
    """PD7: the bans that stop this application on `query.on`, longest-running first.

    Matched by role: a ban on an implementing entity applies to the applicant's implementing
    entity, a ban on a lead unit to its lead unit. Scope 'any' (M2 delisting) bars every field;
    'same_type' (M4 revocation) only the banned field. Both ends of the ban are inclusive.

    PD10: a provisional ban (its end year's calendar unknown when it was imposed) is settled here
    with ``calendar`` (default: the process's), so it ends on the legal last day. If that still needs
    data that is missing and ``query.on`` is past the nominal end, CalendarNotCovered is raised: the
    application can be neither refused nor accepted on a guess (PD2).
    """
    rows = await conn.fetch(
        f"""
        SELECT {_BAN_COLUMNS} FROM bans
        WHERE ((subject_kind = 'implementing_entity' AND credit_code = $1)
            OR (subject_kind = 'lead_unit' AND credit_code = $2))
          AND (scope = 'any' OR field = $3)
          AND starts_on <= $4 AND ($4 <= ends_on OR provisional)
        ORDER BY ends_on DESC, key
        """,
        query.implementing_entity_code,
        query.lead_unit_code,
        query.field,
        query.on,
    )
    bans = [settle_ban(Ban.model_validate(dict(r)), query.on, calendar) for r in rows]
    return sorted((b for b in bans if query.on <= b.ends_on), key=lambda b: (-b.ends_on.toordinal(), b.key))


def settle_ban(ban: Ban, on: date, calendar: WorkingDayCalendar | None = None) -> Ban:
    """PD10: a provisional ban with its legal last day, when the calendar knows it."""
    if not ban.provisional:
        return ban
    nominal = ban.nominal_ends_on or ban.ends_on
    try:
        last_day = legal_last_day(nominal, calendar or default_calendar())
    except CalendarNotCovered:
        if on > nominal:  # inside the ban or not depends on the missing data: a person must add it
            raise
        return ban  # barred either way: on or before the nominal last day
    return ban.model_copy(update={"ends_on": last_day, "provisional": False,
                                  "nominal_ends_on": nominal if last_day != nominal else None})


async def list_audit(conn: asyncpg.Connection, center_id: str) -> list[AuditEntry]:
    """The center's audit trail in the order things happened."""
    rows = await conn.fetch(
        f"SELECT {_AUDIT_COLUMNS}, detail::text AS detail FROM audit_log WHERE center_id = $1 ORDER BY at, id",
        center_id,
    )
    return [AuditEntry.model_validate({**dict(r), "detail": json.loads(r["detail"])}) for r in rows]


async def list_outbox(conn: asyncpg.Connection, center_id: str) -> list[OutboxEntry]:
    """The center's notifications with their delivery state, oldest first."""
    rows = await conn.fetch(
        f"SELECT {_OUTBOX_COLUMNS}, created_at, sent_at, attempts, last_error, next_attempt_at, failed_at FROM outbox "
        "WHERE center_id = $1 ORDER BY id",
        center_id,
    )
    return [OutboxEntry.model_validate(dict(r)) for r in rows]


async def list_centers(conn: asyncpg.Connection) -> list[CenterSnapshot]:
    """Every center's report row (M5 status board)."""
    rows = await conn.fetch(f"SELECT {_SNAPSHOT_COLUMNS} FROM centers ORDER BY center_id")
    return [CenterSnapshot.model_validate(dict(r)) for r in rows]


async def get_center(conn: asyncpg.Connection, center_id: str) -> CenterSnapshot | None:
    """The report row of one center, or None if no snapshot was recorded yet."""
    row = await conn.fetchrow(f"SELECT {_SNAPSHOT_COLUMNS} FROM centers WHERE center_id = $1", center_id)
    return CenterSnapshot.model_validate(dict(row)) if row else None


def _audit_args(a: AuditEntry) -> tuple:
    return (
        a.key, a.center_id, a.at, a.action, a.outcome, a.actor_name, a.actor_role, a.actor_county,
        a.request_id, a.rule_ids, a.phase_before, a.phase_after, a.summary, a.actor_user_id,
        # mode="json" first: detail may hold dates or decimals that json.dumps cannot take
        json.dumps(a.model_dump(mode="json")["detail"], ensure_ascii=False),
    )  # fmt: skip


def _outbox_args(e: Email) -> tuple:
    return (e.key, e.center_id, e.to, e.subject, e.body, e.rule_id, message_id_for(e.key))


def _ban_args(b: Ban) -> tuple:
    return (
        b.key, b.center_id, b.subject_kind, b.credit_code, b.subject_name, b.scope, b.field,
        b.rule_id, b.starts_on, b.ends_on, b.reason, b.nominal_ends_on, b.provisional,
    )  # fmt: skip


def _snapshot_args(s: CenterSnapshot) -> tuple:
    return (
        s.center_id, s.revision, s.name, s.county, s.field, s.route, s.phase, s.credit_code,
        s.lead_unit, s.designated_on, s.last_grade, s.next_deadline_at, s.updated_at, s.opened_at,
        s.overdue_count, s.oldest_overdue_at,
    )  # fmt: skip


async def center_known(conn: asyncpg.Connection, center_id: str) -> bool:
    """Whether the service has recorded anything of this center (an audit row or a ledger entry)."""
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM audit_log WHERE center_id = $1) "
                                    "OR EXISTS (SELECT 1 FROM subsidy_ledger WHERE center_id = $1)", center_id))


async def center_ids(conn: asyncpg.Connection, counties: list[str] | None = None,
                     within: list[str] | None = None) -> list[str]:
    """Center ids of the `centers` table, optionally only these counties and/or these ids."""
    sql, args = "SELECT center_id FROM centers WHERE true", []
    if counties is not None:
        args.append(counties)
        sql += f" AND county = ANY(${len(args)}::text[])"
    if within is not None:
        args.append(within)
        sql += f" AND center_id = ANY(${len(args)}::text[])"
    return [r["center_id"] for r in await conn.fetch(sql + " ORDER BY center_id", *args)]


async def claim_calendar_years(conn: asyncpg.Connection, years: list[int]) -> list[int]:
    """PD10: the years of ``years`` not announced before, now claimed (one worker wins each)."""
    rows = await conn.fetch(
        "INSERT INTO calendar_announcements (year) SELECT unnest($1::int[]) ON CONFLICT DO NOTHING RETURNING year",
        years,
    )
    return sorted(r["year"] for r in rows)
