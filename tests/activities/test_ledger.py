"""The subsidy ledger and the yearly city cap against a real PostgreSQL (S2, S3, PD6).

The database is shared by the whole session and the cap is city-wide per year, so every test here
works in a subsidy year of its own (2900 + n, which no lifecycle ever uses) and with random center
ids: the tests see none of each other's rows, in any order.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.ledger import LedgerActivities
from db.ledger import (
    CapExceeded, LedgerKeyConflict, center_balances, city_totals, city_years, list_entries, record_entries,
    reserve_advance, year_balances,
)
from db.outcomes import list_audit, record_batch
from models.effects import AuditEntry, OutcomeBatch
from models.subsidy import AdvanceRequest, LedgerEntry

D = Decimal
CAP = D("3000000.00")
T0 = datetime(2026, 11, 30, 2, 0, tzinfo=timezone.utc)


def new_center() -> str:
    return f"c-{uuid.uuid4().hex[:10]}"


def entry(center_id: str, year: int, amount: str, kind: str = "advance", **changes: object) -> LedgerEntry:
    return LedgerEntry.model_validate({
        "key": f"{center_id}:{uuid.uuid4().hex}:{kind}", "center_id": center_id, "year": year, "kind": kind,
        "amount_yuan": amount, "actor": "city_bureau: 张华", "rule_id": "S2", "at": T0, "reference": "舟科拨",
    } | changes)  # fmt: skip


async def advances_sum(conn: asyncpg.Connection, year: int) -> Decimal:
    return await conn.fetchval(
        "SELECT COALESCE(sum(amount_yuan), 0) FROM subsidy_ledger WHERE year = $1 AND kind = 'advance'", year)


async def test_pd6_advance_beyond_the_cap_is_refused_with_the_headroom(db_pool: asyncpg.Pool) -> None:
    year = 2901
    async with db_pool.acquire() as conn:
        await reserve_advance(conn, entry(new_center(), year, "2000000"), CAP)
        with pytest.raises(CapExceeded) as info:
            await reserve_advance(conn, entry(new_center(), year, "1000000.01"), CAP)
        assert info.value.headroom == D("1000000.00")
        assert "headroom left 1,000,000.00 yuan" in str(info.value) and "PD6" in str(info.value)
        await reserve_advance(conn, entry(new_center(), year, "1000000.00"), CAP)  # exactly to the cap
        assert await advances_sum(conn, year) == CAP
        totals = await city_totals(conn, year)
    assert (totals.cap_yuan, totals.advanced_yuan, totals.headroom_yuan, totals.centers) == (CAP, CAP, D("0.00"), 2)


async def test_pd6_cap_refusal_from_the_activity_is_non_retryable_and_names_the_headroom(db_pool) -> None:
    year = 2902
    acts = LedgerActivities(db_pool)
    first = entry(new_center(), year, "2999999.99")
    assert await ActivityEnvironment().run(acts.reserve_advance, AdvanceRequest(entry=first, cap_yuan=CAP)) == first
    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(acts.reserve_advance,
                                        AdvanceRequest(entry=entry(new_center(), year, "0.02"), cap_yuan=CAP))
    assert info.value.type == "CapExceeded" and info.value.non_retryable
    assert "headroom left 0.01 yuan" in info.value.message
    assert info.value.details[0]["headroom_yuan"] == "0.01"


async def test_pd6_two_advances_racing_for_the_last_headroom_one_passes(database_url: str) -> None:
    """PD6: two centers' advances race for the last 200,000 yuan on two connections. A third
    connection holds the year's budget row so that both are provably waiting at the lock at the same
    time; when it lets go, one passes, the other is refused, and the year's advances sum to the cap."""
    year = 2903
    gate, a, b = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        await reserve_advance(gate, entry(new_center(), year, "2800000"), CAP)
        racers = [entry(new_center(), year, "200000"), entry(new_center(), year, "200000")]
        async with gate.transaction():
            await gate.execute("SELECT 1 FROM subsidy_budget WHERE year = $1 FOR UPDATE", year)
            tasks = [asyncio.create_task(reserve_advance(conn, e, CAP)) for conn, e in zip((a, b), racers)]
            for _ in range(100):  # both racers are blocked on the row lock, at once
                waiting = await gate.fetchval(
                    "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[]) AND wait_event_type = 'Lock'",
                    [a.get_server_pid(), b.get_server_pid()])
                if waiting == 2:
                    break
                await asyncio.sleep(0.02)
            assert waiting == 2 and not any(t.done() for t in tasks)
        results = await asyncio.gather(*tasks, return_exceptions=True)
        passed = [r for r in results if isinstance(r, LedgerEntry)]
        refused = [r for r in results if isinstance(r, CapExceeded)]
        assert len(passed) == 1 and len(refused) == 1, results
        assert refused[0].headroom == D("0.00")
        assert await advances_sum(gate, year) == CAP
    finally:
        for conn in (gate, a, b):
            await conn.close()


async def test_pd6_many_concurrent_advances_never_pass_the_cap(database_url: str) -> None:
    """PD6: twelve advances of 300,000 yuan at once, on separate connections, for a 3,000,000 cap:
    exactly ten pass and the year's advances sum to the cap, whatever the interleaving."""
    year = 2904
    conns = [await asyncpg.connect(database_url) for _ in range(12)]
    try:
        results = await asyncio.gather(
            *(reserve_advance(c, entry(new_center(), year, "300000"), CAP) for c in conns), return_exceptions=True)
        assert sum(isinstance(r, LedgerEntry) for r in results) == 10
        assert sum(isinstance(r, CapExceeded) for r in results) == 2
        assert await advances_sum(conns[0], year) == CAP
    finally:
        for conn in conns:
            await conn.close()


async def test_pd6_retry_returns_the_stored_advance_and_does_not_double(db_pool: asyncpg.Pool) -> None:
    """An activity retry (same key) returns the entry already written, even once the cap is full."""
    year = 2905
    center = new_center()
    first = entry(center, year, "1000000")
    acts = LedgerActivities(db_pool)
    request = AdvanceRequest(entry=first, cap_yuan=CAP)
    assert await ActivityEnvironment().run(acts.reserve_advance, request) == first
    async with db_pool.acquire() as conn:
        await reserve_advance(conn, entry(new_center(), year, "2000000"), CAP)  # the cap is now full
    assert await ActivityEnvironment().run(acts.reserve_advance, request) == first  # the retry
    async with db_pool.acquire() as conn:
        assert [e.key for e in await list_entries(conn, center)] == [first.key]
        assert await advances_sum(conn, year) == CAP
        with pytest.raises(LedgerKeyConflict):  # the same key for another amount is never merged
            await reserve_advance(conn, first.model_copy(update={"amount_yuan": D("1.00")}), CAP)
    with pytest.raises(ApplicationError) as info:
        await ActivityEnvironment().run(acts.reserve_advance, AdvanceRequest(
            entry=first.model_copy(update={"amount_yuan": D("1.00")}), cap_yuan=CAP))
    assert info.value.type == "LedgerKeyConflict" and info.value.non_retryable


async def test_pd6_clawbacks_and_repayments_do_not_restore_headroom(db_pool: asyncpg.Pool) -> None:
    year = 2906
    center = new_center()
    async with db_pool.acquire() as conn:
        await reserve_advance(conn, entry(center, year, "3000000"), CAP)
        await record_entries(conn, [entry(center, year, "2000000", "settlement"),
                                    entry(center, year, "1000000", "clawback"),
                                    entry(center, year, "1000000", "repayment")])
        with pytest.raises(CapExceeded) as info:
            await reserve_advance(conn, entry(new_center(), year, "0.01"), CAP)
    assert info.value.headroom == D("0.00")


async def test_s2_ledger_entries_with_the_audit_row_in_one_transaction(db_pool: asyncpg.Pool) -> None:
    """record_batch writes the step's ledger entries with its audit row; a retry adds nothing; a row
    the database refuses rolls the whole step back."""
    center = new_center()
    year = 2907
    audit = AuditEntry(key=f"{center}:2:settle_subsidy", center_id=center, at=T0, action="settle_subsidy",
                       outcome="accepted", rule_ids=["S2"], summary="2907 settled")
    entries = [entry(center, year, "750000", "settlement"), entry(center, year, "250000", "clawback")]
    batch = OutcomeBatch(center_id=center, audits=[audit], ledger=entries)
    async with db_pool.acquire() as conn:
        await record_batch(conn, batch)
        await record_batch(conn, batch)  # an activity retry
        assert await list_entries(conn, center) == entries
        assert [a.key for a in await list_audit(conn, center)] == [audit.key]

        other = new_center()
        bad = entry(other, year, "1", "clawback").model_copy(update={"amount_yuan": D("0.00")})  # bypasses pydantic
        audit2 = audit.model_copy(update={"key": f"{other}:2:x", "center_id": other})
        with pytest.raises(asyncpg.CheckViolationError):
            await record_batch(conn, OutcomeBatch.model_construct(center_id=other, audits=[audit2], ledger=[bad],
                                                                   bans=[], emails=[], snapshot=None))
        assert await list_audit(conn, other) == [] and await list_entries(conn, other) == []

        with pytest.raises(ValueError, match="reserve_advance"):  # advances only under the cap
            await record_entries(conn, [entry(other, year, "1")])


async def test_s2_ledger_refuses_update_delete_and_truncate(db_pool: asyncpg.Pool) -> None:
    center = new_center()
    async with db_pool.acquire() as conn:
        await reserve_advance(conn, entry(center, 2908, "1000"), CAP)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only: UPDATE refused"):
            await conn.execute("UPDATE subsidy_ledger SET amount_yuan = 1 WHERE center_id = $1", center)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only: DELETE refused"):
            await conn.execute("DELETE FROM subsidy_ledger WHERE center_id = $1", center)
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only: TRUNCATE refused"):
            async with conn.transaction():  # rolled back either way: never empty the shared ledger
                await conn.execute("TRUNCATE subsidy_ledger")
        assert len(await list_entries(conn, center)) == 1


async def test_s2_reports_per_center_per_year_and_city_totals_against_the_cap(db_pool: asyncpg.Pool) -> None:
    a, b = new_center(), new_center()
    y1, y2 = 2909, 2910
    async with db_pool.acquire() as conn:
        await reserve_advance(conn, entry(a, y1, "1000000"), CAP)
        await reserve_advance(conn, entry(a, y2, "500000.50"), CAP)
        await reserve_advance(conn, entry(b, y1, "800000"), CAP)
        await record_entries(conn, [entry(a, y1, "700000", "settlement"), entry(a, y1, "300000", "clawback"),
                                    entry(a, y1, "120000", "repayment")])
        per_center = await center_balances(conn, a)
        per_year = await year_balances(conn, y1)
        totals = await city_totals(conn, y1)
        unused = await city_totals(conn, 2999)
        every_year = {t.year: t for t in await city_years(conn)}
    first, second = per_center
    assert (first.year, first.advanced_yuan, first.due_yuan, first.clawed_back_yuan, first.repaid_yuan) == (
        y1, D("1000000.00"), D("700000.00"), D("300000.00"), D("120000.00"))
    assert (first.outstanding_yuan, first.net_yuan) == (D("180000.00"), D("700000.00"))
    assert (second.year, second.advanced_yuan, second.due_yuan) == (y2, D("500000.50"), None)
    assert [(r.center_id, r.advanced_yuan) for r in per_year] == sorted([(a, D("1000000.00")), (b, D("800000.00"))])
    assert (totals.cap_yuan, totals.advanced_yuan, totals.headroom_yuan, totals.centers) == (
        CAP, D("1800000.00"), D("1200000.00"), 2)
    assert (totals.clawed_back_yuan, totals.repaid_yuan) == (D("300000.00"), D("120000.00"))
    assert unused.cap_yuan is None and unused.advanced_yuan == 0 and unused.headroom_yuan is None
    assert every_year[y2].advanced_yuan >= D("500000.50") and 2999 not in every_year
    assert totals.model_dump(mode="json")["headroom_yuan"] == "1200000.00"


def test_pd6_ledger_entry_amounts_are_exact_and_positive_except_a_settlement() -> None:
    with pytest.raises(ValueError, match="never a float"):
        entry(new_center(), 2026, 0.1)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="positive"):
        entry(new_center(), 2026, "0", "clawback")
    assert entry(new_center(), 2026, "0", "settlement").amount_yuan == D("0.00")
    assert str(entry(new_center(), 2026, "12.5").amount_yuan) == "12.50"
    assert T0 + timedelta(0) == entry(new_center(), 2026, "1").at
