"""The rows behind the bureau's reports (staff/reports.py shapes them into CSV and .xlsx)."""

from __future__ import annotations

from typing import Any

import asyncpg

from db.migrate import table_exists


async def field_counts(conn: asyncpg.Connection, designated: list[str], in_procedure: list[str]) -> dict[str, Any]:
    """D2: per field, how many centers are in the ``designated`` phases and how many in ``in_procedure``."""
    return {
        r["field"]: r for r in await conn.fetch(
            """
            SELECT field,
                   count(*) FILTER (WHERE phase = ANY($1::text[])) AS designated,
                   count(*) FILTER (WHERE phase = ANY($2::text[])) AS in_procedure
            FROM centers GROUP BY field
            """,
            designated, in_procedure,
        )
    }


async def status_rows(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """The status board: one row per center, by county, field and id."""
    return [dict(r) for r in await conn.fetch(
        "SELECT center_id, name, county, field, route, phase, lead_unit, credit_code, designated_on, last_grade, "
        "next_deadline_at, revision, updated_at FROM centers ORDER BY county, field, center_id"
    )]


async def ledger_rows(conn: asyncpg.Connection) -> list[dict[str, Any]]:
    """Every ledger entry in recorded order, with its center's name when the `centers` table exists."""
    has_centers = await table_exists(conn, "centers")
    name = "c.name" if has_centers else "NULL::text"
    join = "LEFT JOIN centers c ON c.center_id = l.center_id" if has_centers else ""
    return [dict(r) for r in await conn.fetch(
        f"SELECT l.year, l.center_id, {name} AS name, l.kind, l.amount_yuan, l.rule_id, l.actor, l.at, "
        f"l.reference, l.key FROM subsidy_ledger l {join} ORDER BY l.year, l.center_id, l.id"
    )]
