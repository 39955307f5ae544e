"""`centers report coverage|status|ledger` from PostgreSQL, as CSV and as a real .xlsx (D2, M5, S1-S3).

The session database is shared with other tests, so coverage is checked as the change our own
centers make, and the status board by our own rows.
"""

from __future__ import annotations

import csv
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import openpyxl
import pytest

from db.outcomes import record_batch
from models.effects import CenterSnapshot, OutcomeBatch
from tests.centers.cli_support import cli

T0 = datetime(2026, 11, 2, 3, 0, tzinfo=timezone.utc)


def snapshot(field: str, phase: str, **changes) -> CenterSnapshot:
    cid = f"r-{uuid.uuid4().hex[:10]}"
    data = dict(center_id=cid, revision=3, name=f"舟山市测试中心 {cid}", county="putuo", field=field, route="merit",
                phase=phase, credit_code="91330900MA0000001Q", lead_unit="普陀区人民政府", updated_at=T0, opened_at=T0)
    return CenterSnapshot.model_validate(data | changes)


async def insert(db_pool, *snapshots: CenterSnapshot) -> None:
    async with db_pool.acquire() as conn:
        for s in snapshots:
            await record_batch(conn, OutcomeBatch(center_id=s.center_id, snapshot=s))


def read_csv(path: Path) -> list[list[str]]:
    with open(path, encoding="utf-8-sig", newline="") as stream:
        return list(csv.reader(stream))


def coverage_by_field(rows: list[list[str]]) -> dict[str, list[str]]:
    return {row[0]: row for row in rows[1:]}


async def test_d2_coverage_report_counts_designated_and_in_procedure_per_key_field(database_url, db_pool, tmp_path):
    before_path = tmp_path / "before.csv"
    assert (await cli("report", "coverage", "--out", str(before_path), database_url=database_url)).status == 0
    before = coverage_by_field(read_csv(before_path))
    assert list(before) == ["new_materials", "ships_offshore", "marine_biomedicine"]

    await insert(db_pool,
                 snapshot("marine_biomedicine", "designated", designated_on=date(2026, 10, 9)),
                 snapshot("marine_biomedicine", "rectifying", designated_on=date(2025, 10, 9), last_grade="unqualified"),
                 snapshot("marine_biomedicine", "county_review"),
                 snapshot("ships_offshore", "public_notice"),
                 snapshot("ships_offshore", "withdrawn"),
                 snapshot("other_marine", "designated"))

    path = tmp_path / "coverage.csv"
    result = await cli("report", "coverage", "--format", "csv", "--out", str(path), database_url=database_url)
    assert result.status == 0, result
    assert "3 row(s) written" in result.out
    rows = read_csv(path)
    assert rows[0][:5] == ["field 领域", "领域名称", "designated centers 已认定", "in procedure 认定程序中", "covered 已覆盖"]
    after = coverage_by_field(rows)
    bio, ships = after["marine_biomedicine"], after["ships_offshore"]
    assert bio[1] == "海洋生物医药"
    assert int(bio[2]) - int(before["marine_biomedicine"][2]) == 2  # designated + rectifying
    assert int(bio[3]) - int(before["marine_biomedicine"][3]) == 1
    assert bio[4] == "yes"
    assert int(ships[2]) == int(before["ships_offshore"][2])  # withdrawn counts nowhere
    assert int(ships[3]) - int(before["ships_offshore"][3]) == 1
    assert ships[4] == ("yes" if int(ships[2]) else "no")

    xlsx = tmp_path / "coverage.xlsx"
    assert (await cli("report", "coverage", "--format", "xlsx", "--out", str(xlsx), database_url=database_url)).status == 0
    book = openpyxl.load_workbook(xlsx)
    sheet = book["coverage"]
    values = [[c.value for c in row] for row in sheet.iter_rows()]
    assert values[0][0] == "field 领域" and [r[0] for r in values[1:]] == list(after)
    bio_row = next(r for r in values if r[0] == "marine_biomedicine")
    assert bio_row[2] == int(bio[2]) and isinstance(bio_row[2], int) and bio_row[4] == "yes"
    assert "D2" in " ".join(str(c.value) for row in book["about"].iter_rows() for c in row)


async def test_m5_status_board_one_row_per_center_csv_and_xlsx(database_url, db_pool, tmp_path):
    due = datetime(2026, 12, 3, 16, 0, tzinfo=timezone.utc)  # 24:00 of 2026-12-03 in Asia/Shanghai (PD1)
    ours = snapshot("new_materials", "designated", designated_on=date(2026, 10, 9), last_grade="good",
                    next_deadline_at=due)
    await insert(db_pool, ours)

    path = tmp_path / "status.csv"
    assert (await cli("report", "status", "--out", str(path), database_url=database_url)).status == 0, path
    rows = read_csv(path)
    header = rows[0]
    row = dict(zip(header, next(r for r in rows if r[0] == ours.center_id)))
    assert row["phase 阶段"] == "designated" and row["designated on 认定日期"] == "2026-10-09"
    assert row["next deadline 下一截止 (Asia/Shanghai)"] == "2026-12-03 24:00"
    assert row["updated 更新时间 (Asia/Shanghai)"] == "2026-11-02 11:00"
    assert row["name 名称"] == ours.name
    assert len({r[0] for r in rows[1:]}) == len(rows) - 1  # one row per center

    xlsx = tmp_path / "status.xlsx"
    result = await cli("report", "status", "--out", str(xlsx), database_url=database_url)  # format from suffix
    assert result.status == 0, result
    sheet = openpyxl.load_workbook(xlsx)["status"]
    cells = {r[0].value: [c.value for c in r] for r in sheet.iter_rows(min_row=2)}
    ours_row = dict(zip([c.value for c in sheet[1]], cells[ours.center_id]))
    assert ours_row["designated on 认定日期"] == datetime(2026, 10, 9)  # a real Excel date
    assert ours_row["updated 更新时间 (Asia/Shanghai)"] == datetime(2026, 11, 2, 11, 0)
    assert sheet.freeze_panes == "A2"


async def test_status_report_to_stdout_when_no_out(database_url):
    result = await cli("report", "status", database_url=database_url)
    assert result.status == 0 and result.out.splitlines()[0].startswith("center 中心编号")


async def test_xlsx_needs_an_out_file(database_url):
    result = await cli("report", "coverage", "--format", "xlsx", database_url=database_url)
    assert result.status == 2 and "--out" in result.err


async def test_s2_pd6_ledger_report_entries_balances_and_city_cap(database_url, db_pool, tmp_path):
    """S1, S2, PD6: every entry; in Excel also balances per center-year and the city's cap headroom."""
    center = snapshot("new_materials", "designated")
    await insert(db_pool, center)
    year = 5000 + uuid.uuid4().int % 4000  # a year of our own: the city totals are ours alone
    at = datetime(2026, 3, 1, 2, 0, tzinfo=timezone.utc)
    entries = [("advance", "1000000.00", "S2"), ("settlement", "800000.00", "S2"),
               ("clawback", "200000.00", "S2"), ("repayment", "50000.00", "S2")]
    async with db_pool.acquire() as conn:
        await conn.execute("INSERT INTO subsidy_budget (year, cap_yuan) VALUES ($1, 3000000)", year)
        for i, (kind, amount, rule) in enumerate(entries):
            await conn.execute(
                "INSERT INTO subsidy_ledger (key, center_id, year, kind, amount_yuan, actor, rule_id, at, reference) "
                "VALUES ($1, $2, $3, $4, $5::numeric, 'city_bureau: 张华', $6, $7, $8)",
                f"{center.center_id}:{i}", center.center_id, year, kind, amount, rule, at, f"REF-{i}")

    path = tmp_path / "ledger.csv"
    result = await cli("report", "ledger", "--out", str(path), database_url=database_url)
    assert result.status == 0, result
    rows = read_csv(path)
    ours = [dict(zip(rows[0], r)) for r in rows[1:] if r[1] == center.center_id]
    assert [(r["kind 类型"], r["amount 金额 (yuan)"]) for r in ours] == [(k, a) for k, a, _ in entries]
    assert ours[0]["name 名称"] == center.name and ours[0]["at 时间 (Asia/Shanghai)"] == "2026-03-01 10:00"

    xlsx = tmp_path / "ledger.xlsx"
    assert (await cli("report", "ledger", "--format", "xlsx", "--out", str(xlsx), database_url=database_url)).status == 0
    book = openpyxl.load_workbook(xlsx)
    assert book.sheetnames == ["ledger", "balances", "city", "about"]
    sheet = book["ledger"]
    amounts = [r[4].value for r in sheet.iter_rows(min_row=2) if r[1].value == center.center_id]
    assert amounts == [1000000, 800000, 200000, 50000]
    balances = book["balances"]
    header = [c.value for c in balances[1]]
    (balance,) = [dict(zip(header, [c.value for c in r])) for r in balances.iter_rows(min_row=2)
                  if r[1].value == center.center_id]
    assert balance["year 年度"] == year and balance["advanced 预拨"] == 1000000
    assert balance["due 核定应得 (S2)"] == 800000 and balance["outstanding 待缴回"] == 150000
    city = book["city"]
    header = [c.value for c in city[1]]
    (totals,) = [dict(zip(header, [c.value for c in r])) for r in city.iter_rows(min_row=2) if r[0].value == year]
    assert totals["cap 年度上限 (S1, PD6)"] == 3000000 and totals["headroom 剩余额度"] == 2000000


async def test_s1_ledger_report_before_the_ledger_exists_says_no_ledger_yet(blank_database_url, tmp_path):
    """A database migrated only up to 001 (no subsidy_ledger table): a clear message, no file."""
    import asyncpg

    from db.migrate import MIGRATIONS_DIR, apply_migrations

    only_core = tmp_path / "migrations"
    only_core.mkdir()
    (only_core / "001_core.sql").write_text((MIGRATIONS_DIR / "001_core.sql").read_text(encoding="utf-8"))
    conn = await asyncpg.connect(blank_database_url)
    try:
        await apply_migrations(conn, only_core)
    finally:
        await conn.close()
    for fmt in ("csv", "xlsx"):
        out = tmp_path / f"ledger.{fmt}"
        result = await cli("report", "ledger", "--format", fmt, "--out", str(out), database_url=blank_database_url)
        assert result.status == 1, result
        assert "no ledger yet" in result.err
        assert not out.exists()
        assert list(tmp_path.glob(".ledger*")) == []  # no temp file left behind


async def test_report_without_the_centers_table_says_so(blank_database_url, tmp_path):
    result = await cli("report", "status", "--out", str(tmp_path / "s.csv"), database_url=blank_database_url)
    assert result.status == 1 and "no `centers` table" in result.err
    assert not (tmp_path / "s.csv").exists()


@pytest.mark.parametrize("report", ["coverage", "status"])
async def test_unreachable_database_exits_1_with_a_message(report, tmp_path):
    result = await cli("report", report, "--out", str(tmp_path / "x.csv"),
                       database_url="postgresql://nobody@127.0.0.1:1/none")
    assert result.status == 1 and "cannot connect to PostgreSQL" in result.err
