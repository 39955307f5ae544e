"""Subsidy ledger repository (S1-S3, PD5, PD6): append-only entries, the yearly cap, reports.

Plain async functions over an asyncpg connection, like ``db/outcomes.py``.

- :func:`reserve_advance` is the only way an advance enters the ledger: it locks the year's budget
  row (``SELECT ... FOR UPDATE``), sums the year's advances and inserts the entry in ONE
  transaction, so two advances racing for the last headroom are serialised and only one passes
  (PD6, DESIGN.md). It is idempotent by key: a retry returns the stored entry and adds nothing.
- :func:`reserve_subsidy_advance` does the same and also holds every per-center money rule across
  lifecycles (S1 and PD11: the subsidy years Y..Y+2 from the first advance; S2: one advance per
  year; S3: none after a lapse; PD12: an advance for year Y only during Y). These live in the
  ledger, not in one lifecycle's state, because a center may have several lifecycles.
- :func:`record_entries` writes settlements, clawbacks and repayments (``ON CONFLICT DO NOTHING``);
  ``db.outcomes.record_batch`` calls it in the transaction of the step's audit row.
- Balances and reports are derived from the entries, never stored.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from zoneinfo import ZoneInfo

import asyncpg

from models.subsidy import ZERO, AdvanceReservation, CityTotals, LedgerEntry, LedgerRefusal, YearBalance, yuan_text

SHANGHAI = ZoneInfo("Asia/Shanghai")  # PD1

_COLUMNS = "key, center_id, year, kind, amount_yuan, actor, rule_id, at, reference"
_INSERT = f"""
    INSERT INTO subsidy_ledger ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
    ON CONFLICT (key) DO NOTHING
"""
_SUMS = """
    COALESCE(sum(amount_yuan) FILTER (WHERE kind = 'advance'), 0)    AS advanced_yuan,
    sum(amount_yuan)          FILTER (WHERE kind = 'settlement')      AS due_yuan,
    COALESCE(sum(amount_yuan) FILTER (WHERE kind = 'clawback'), 0)   AS clawed_back_yuan,
    COALESCE(sum(amount_yuan) FILTER (WHERE kind = 'repayment'), 0)  AS repaid_yuan
"""


class CapExceeded(Exception):
    """PD6: the advance would pass the city's yearly cap; the message gives the headroom left."""

    def __init__(self, year: int, cap: Decimal, granted: Decimal, amount: Decimal) -> None:
        self.year = year
        self.cap = cap
        self.granted = granted
        self.amount = amount
        self.headroom = max(cap - granted, ZERO)
        super().__init__(
            f"PD6: an advance of {yuan_text(amount)} would pass the city's yearly cap for {year} "
            f"({yuan_text(cap)}): {yuan_text(granted)} is already granted to all centers, "
            f"headroom left {yuan_text(self.headroom)}"
        )


class LedgerKeyConflict(Exception):
    """An idempotency key was reused for a different entry: a bug or a forged retry, never merged."""


def _args(e: LedgerEntry) -> tuple:
    return (e.key, e.center_id, e.year, e.kind, e.amount_yuan, e.actor, e.rule_id, e.at, e.reference)


def _entry(row: asyncpg.Record) -> LedgerEntry:
    return LedgerEntry.model_validate(dict(row))


def _same(stored: LedgerEntry, entry: LedgerEntry) -> bool:
    fields = ("center_id", "year", "kind", "amount_yuan")
    return all(getattr(stored, f) == getattr(entry, f) for f in fields)


async def get_entry(conn: asyncpg.Connection, key: str) -> LedgerEntry | None:
    row = await conn.fetchrow(f"SELECT {_COLUMNS} FROM subsidy_ledger WHERE key = $1", key)
    return _entry(row) if row else None


async def _lock_year_and_find(conn: asyncpg.Connection, entry: LedgerEntry, cap: Decimal) -> LedgerEntry | None:
    """Inside a transaction: take the year's budget lock (creating its row on first use), then return
    the entry already stored under this key (a retry), or None. A different entry under the key raises."""
    await conn.execute(
        "INSERT INTO subsidy_budget (year, cap_yuan) VALUES ($1, $2) ON CONFLICT (year) DO NOTHING", entry.year, cap,
    )
    await conn.execute("SELECT 1 FROM subsidy_budget WHERE year = $1 FOR UPDATE", entry.year)
    stored = await get_entry(conn, entry.key)
    if stored is not None and not _same(stored, entry):
        raise LedgerKeyConflict(f"ledger key {entry.key!r} is already used by a different entry: {stored}")
    return stored


async def reserve_advance(conn: asyncpg.Connection, entry: LedgerEntry, cap: Decimal) -> LedgerEntry:
    """PD6: check the year's cap and write the advance in ONE transaction; return the stored entry.

    Locks the budget row of ``entry.year`` (created on first use), so concurrent advances for the
    same year wait for each other and each one sees the advances committed before it. A retry with
    the same key returns the entry already stored, without checking the cap again or adding a row.
    Raises :class:`CapExceeded` (with the headroom) or :class:`LedgerKeyConflict`.
    """
    if entry.kind != "advance":
        raise ValueError(f"reserve_advance takes advances, not {entry.kind}")
    async with conn.transaction():
        stored = await _lock_year_and_find(conn, entry, cap)
        if stored is not None:
            return stored
        granted: Decimal = await conn.fetchval(
            "SELECT COALESCE(sum(amount_yuan), 0) FROM subsidy_ledger WHERE year = $1 AND kind = 'advance'",
            entry.year,
        )
        if entry.amount_yuan > cap - granted:
            raise CapExceeded(entry.year, cap, granted, entry.amount_yuan)
        await conn.execute("UPDATE subsidy_budget SET cap_yuan = $2, updated_at = now() WHERE year = $1",
                           entry.year, cap)
        if await conn.fetchval(_INSERT + " RETURNING id", *_args(entry)) is None:
            # Same key taken meanwhile for another year (another lock): never pretend it was written.
            raise LedgerKeyConflict(f"ledger key {entry.key!r} was taken by a concurrent entry")
    return entry


class AdvanceRefused(Exception):
    """S1, S2, S3, PD11, PD12: a per-center rule refuses the advance; names the rule and the field."""

    def __init__(self, rule_id: str, field: str, message: str) -> None:
        super().__init__(f"{rule_id}: {message}")
        self.refusal = LedgerRefusal(rule_id=rule_id, field=field, message=message)


async def _check_center(conn: asyncpg.Connection, entry: LedgerEntry, max_years: int) -> None:
    """The per-center rules, read from the ledger under the year's lock (every lifecycle counts)."""
    granted_in = entry.at.astimezone(SHANGHAI).year
    if entry.year != granted_in:
        raise AdvanceRefused("PD12", "year", f"an advance for {entry.year} is granted only during {entry.year} "
                             f"(Asia/Shanghai); today is in {granted_in}")
    rows = await conn.fetch(
        "SELECT kind, year, at FROM subsidy_ledger WHERE center_id = $1 AND kind IN ('advance', 'lapse') ORDER BY id",
        entry.center_id,
    )
    lapse = next((r for r in rows if r["kind"] == "lapse"), None)
    if lapse is not None:
        raise AdvanceRefused("S3", "designation", f"the center was not designated within 2 years of its first "
                             f"subsidy (lapsed {lapse['at'].astimezone(SHANGHAI).date()}); it gets no further "
                             "subsidy, in this or any later lifecycle (S3, PD11)")
    years = sorted({r["year"] for r in rows if r["kind"] == "advance"})
    if entry.year in years:
        raise AdvanceRefused("S2", "year", f"the {entry.year} advance of this center was already granted; "
                             "one advance per year")
    if years:
        first = years[0]
        last = first + max_years - 1
        if entry.year > last:
            raise AdvanceRefused("PD11", "year", f"a single center is subsidized for at most {max_years} years, "
                                 f"{first} to {last} from its first advance (S1, PD11); granted: "
                                 f"{', '.join(map(str, years))}")


async def reserve_subsidy_advance(
    conn: asyncpg.Connection, entry: LedgerEntry, cap: Decimal, max_years: int
) -> AdvanceReservation:
    """S1, S2, S3, PD6, PD11, PD12: check every per-center rule and the city cap, then write the
    advance, in ONE transaction under the year's budget lock. A refusal writes nothing and says why.

    A retry with the same key returns the stored entry (checked before the rules, which it now breaks).
    """
    if entry.kind != "advance":
        raise ValueError(f"reserve_subsidy_advance takes advances, not {entry.kind}")
    try:
        async with conn.transaction():
            stored = await _lock_year_and_find(conn, entry, cap)
            if stored is not None:
                return AdvanceReservation(entry=stored)
            await _check_center(conn, entry, max_years)
            return AdvanceReservation(entry=await reserve_advance(conn, entry, cap))
    except CapExceeded as err:
        return AdvanceReservation(refusal=LedgerRefusal(rule_id="PD6", field="amount_yuan", message=str(err)))
    except AdvanceRefused as err:
        return AdvanceReservation(refusal=err.refusal)


async def record_entries(conn: asyncpg.Connection, entries: Iterable[LedgerEntry]) -> None:
    """Settlements, clawbacks and repayments; a retry adds nothing (ON CONFLICT (key) DO NOTHING).

    Advances are refused here: they only enter through :func:`reserve_advance`, under the cap.
    """
    rows = list(entries)
    if not rows:
        return
    advances = [e.key for e in rows if e.kind == "advance"]
    if advances:
        raise ValueError(f"advances go through reserve_advance (PD6 cap), not record_entries: {advances}")
    async with conn.transaction():
        await conn.executemany(_INSERT, [_args(e) for e in rows])


async def list_entries(conn: asyncpg.Connection, center_id: str, year: int | None = None) -> list[LedgerEntry]:
    """A center's entries in the order they were written (optionally one subsidy year)."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM subsidy_ledger WHERE center_id = $1 AND ($2::int IS NULL OR year = $2) ORDER BY id",
        center_id, year,
    )
    return [_entry(r) for r in rows]


async def center_balances(conn: asyncpg.Connection, center_id: str) -> list[YearBalance]:
    """Report: one center's money per subsidy year."""
    rows = await conn.fetch(
        f"SELECT center_id, year, {_SUMS} FROM subsidy_ledger WHERE center_id = $1 GROUP BY center_id, year ORDER BY year",
        center_id,
    )
    return [YearBalance.model_validate(dict(r)) for r in rows]


async def year_balances(conn: asyncpg.Connection, year: int) -> list[YearBalance]:
    """Report: every center's money for one subsidy year."""
    rows = await conn.fetch(
        f"SELECT center_id, year, {_SUMS} FROM subsidy_ledger WHERE year = $1 GROUP BY center_id, year ORDER BY center_id",
        year,
    )
    return [YearBalance.model_validate(dict(r)) for r in rows]


async def city_totals(conn: asyncpg.Connection, year: int) -> CityTotals:
    """Report (PD6): the city's advances for ``year`` against the cap, with what was clawed back and repaid."""
    cap = await conn.fetchval("SELECT cap_yuan FROM subsidy_budget WHERE year = $1", year)
    row = await conn.fetchrow(
        f"SELECT {_SUMS}, count(DISTINCT center_id) FILTER (WHERE kind = 'advance') AS centers "
        "FROM subsidy_ledger WHERE year = $1",
        year,
    )
    data = dict(row)
    data.pop("due_yuan")
    return CityTotals(year=year, cap_yuan=cap, **data)


async def city_years(conn: asyncpg.Connection) -> list[CityTotals]:
    """Report (PD6): :func:`city_totals` for every year with a budget row or a ledger entry."""
    years = await conn.fetch(
        "SELECT year FROM subsidy_budget UNION SELECT DISTINCT year FROM subsidy_ledger ORDER BY year"
    )
    return [await city_totals(conn, r["year"]) for r in years]


async def advances_granted(conn: asyncpg.Connection, year: int) -> Decimal:
    """PD6: the city's advances recorded for ``year``, in yuan."""
    return await conn.fetchval("SELECT COALESCE(sum(amount_yuan), 0) FROM subsidy_ledger "
                               "WHERE year = $1 AND kind = 'advance'", year)
