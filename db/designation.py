"""Designation facts from the centers table (PD16): is an official name already taken?"""

from __future__ import annotations

import asyncpg

from models.phase import ENDED


async def live_centers_named(conn: asyncpg.Connection, name: str, other_than: str) -> list[str]:
    """PD16: ids of the live (not ended) centers other than ``other_than`` whose name is ``name``."""
    rows = await conn.fetch(
        "SELECT center_id FROM centers WHERE name = $1 AND center_id <> $2 AND NOT (phase = ANY($3::text[])) "
        "ORDER BY center_id",
        name, other_than, sorted(p.value for p in ENDED),
    )
    return [r["center_id"] for r in rows]
