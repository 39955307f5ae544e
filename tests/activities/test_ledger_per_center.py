"""The ledger's per-center rules against a real PostgreSQL (S1, S2, S3, PD6, PD11, PD12).

Like test_ledger.py, each test works in subsidy years of its own (2950 + n) with random center ids,
so the session-wide database and the city-wide cap never mix the tests.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timezone
from decimal import Decimal

import asyncpg
from temporalio.testing import ActivityEnvironment

from activities.ledger import LedgerActivities
from db.ledger import list_entries, record_entries, reserve_subsidy_advance
from models.subsidy import AdvanceRequestPD11, LedgerEntry

D = Decimal
CAP = D("3000000.00")


def new_center() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def advance(center_id: str, year: int, amount: str = "500000", at: datetime | None = None,
            kind: str = "advance") -> LedgerEntry:
    """An entry made on 1 June of ``year`` (Asia/Shanghai), unless ``at`` says otherwise."""
    return LedgerEntry.model_validate({
        "key": f"{center_id}:{uuid.uuid4().hex}:{kind}", "center_id": center_id, "year": year, "kind": kind,
        "amount_yuan": amount if kind != "lapse" else "0", "actor": "city_bureau: 张华", "rule_id": "S2",
        "at": at or datetime(year, 6, 1, 2, 0, tzinfo=timezone.utc), "reference": "舟科拨",
    })


async def test_pd12_advance_for_a_year_only_during_that_year(db_pool: asyncpg.Pool) -> None:
    """PD12: in December of Y an advance for Y+1 is refused (and one for Y-1 too); nothing is written."""
    center = new_center()
    december = datetime(2951, 12, 20, 2, 0, tzinfo=timezone.utc)
    async with db_pool.acquire() as conn:
        ahead = await reserve_subsidy_advance(conn, advance(center, 2952, "3000000", at=december), CAP, 3)
        behind = await reserve_subsidy_advance(conn, advance(center, 2950, at=december), CAP, 3)
        assert ahead.entry is None and (ahead.refusal.rule_id, ahead.refusal.field) == ("PD12", "year")
        assert "only during 2952" in ahead.refusal.message and behind.refusal.rule_id == "PD12"
        assert await list_entries(conn, center) == []
        # 31 December 23:30 in Zhoushan is still that year (PD1), though UTC says 15:30.
        late = datetime(2951, 12, 31, 15, 30, tzinfo=timezone.utc)
        assert (await reserve_subsidy_advance(conn, advance(center, 2951, at=late), CAP, 3)).entry is not None


async def test_s1_pd11_years_y_to_y_plus_2_from_the_first_advance_per_center(db_pool: asyncpg.Pool) -> None:
    """S1, PD11: the subsidy years are Y, Y+1, Y+2 from the center's first advance, whatever lifecycle
    writes them (the keys differ); S2: one advance per year per center."""
    center = new_center()
    async with db_pool.acquire() as conn:
        for year in (2953, 2955):  # Y and Y+2 (a year may be skipped; it still counts, PD11)
            assert (await reserve_subsidy_advance(conn, advance(center, year), CAP, 3)).entry is not None
        again = await reserve_subsidy_advance(conn, advance(center, 2955), CAP, 3)
        assert (again.refusal.rule_id, again.refusal.field) == ("S2", "year")
        fourth = await reserve_subsidy_advance(conn, advance(center, 2956), CAP, 3)
        assert (fourth.refusal.rule_id, fourth.refusal.field) == ("PD11", "year")
        assert "2953 to 2955" in fourth.refusal.message
        assert [e.year for e in await list_entries(conn, center)] == [2953, 2955]


async def test_s3_pd11_a_lapse_stops_every_later_advance_of_the_center(db_pool: asyncpg.Pool) -> None:
    """S3, PD11: once the ledger holds the center's lapse, no advance passes, in any lifecycle."""
    center = new_center()
    async with db_pool.acquire() as conn:
        await reserve_subsidy_advance(conn, advance(center, 2957), CAP, 3)
        await record_entries(conn, [advance(center, 2957, kind="lapse")])
        refused = await reserve_subsidy_advance(conn, advance(center, 2958), CAP, 3)
        assert (refused.refusal.rule_id, refused.refusal.field) == ("S3", "designation")
        other = new_center()  # another center is not affected
        assert (await reserve_subsidy_advance(conn, advance(other, 2958), CAP, 3)).entry is not None


async def test_pd6_cap_refusal_and_idempotent_retry_through_the_activity(db_pool: asyncpg.Pool) -> None:
    """PD6 through reserve_subsidy_advance: a refusal is a result naming PD6 and the headroom; a retry
    with the key of a stored advance returns it without checking again."""
    activities = LedgerActivities(db_pool)
    env = ActivityEnvironment()
    first = advance(new_center(), 2959, "2500000")
    stored = await env.run(activities.reserve_subsidy_advance, AdvanceRequestPD11(entry=first, cap_yuan=CAP, max_years=3))
    assert stored.entry == first
    over = await env.run(activities.reserve_subsidy_advance,
                         AdvanceRequestPD11(entry=advance(new_center(), 2959, "600000"), cap_yuan=CAP, max_years=3))
    assert over.refusal.rule_id == "PD6" and "headroom left 500,000.00 yuan" in over.refusal.message
    retry = await env.run(activities.reserve_subsidy_advance, AdvanceRequestPD11(entry=first, cap_yuan=CAP, max_years=3))
    assert retry.entry == first and retry.refusal is None


async def test_pd11_two_advances_of_one_center_racing_for_one_year_one_passes(db_pool: asyncpg.Pool) -> None:
    """S2, PD11 under the year's lock: two requests for the same year of one center, one passes."""
    center = new_center()

    async def one() -> object:
        async with db_pool.acquire() as conn:
            return await reserve_subsidy_advance(conn, advance(center, 2960), CAP, 3)

    results = await asyncio.gather(one(), one())
    assert sorted(r.entry is not None for r in results) == [False, True]
    assert [r.refusal.rule_id for r in results if r.refusal] == ["S2"]
