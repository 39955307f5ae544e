"""Reports for the bureau from PostgreSQL: D2 coverage, the status board, the subsidy ledger.

Each report is a list of columns (key, header) and rows (dicts), written as CSV (UTF-8 with a BOM,
so Excel shows Chinese correctly) or as a real .xlsx workbook (openpyxl). Times are Asia/Shanghai
(PD1); a deadline at 24:00 of day X reads "X 24:00".
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

import asyncpg

from db.ledger import city_years, year_balances
from db.migrate import table_exists
from db.reports import field_counts, ledger_rows, status_rows
from staff.errors import BadInput, Failed
from staff.text import due_text
from models.directory import FIELD_NAMES_ZH, KEY_FIELDS
from models.phase import BEFORE_DESIGNATION, DESIGNATED_PHASES
from rules.calendar import SHANGHAI

LEDGER_TABLE = "subsidy_ledger"


@dataclass
class Report:
    name: str
    title: str
    columns: list[tuple[str, str]]  # (key, header)
    rows: list[dict[str, Any]]
    notes: list[str] = field(default_factory=list)
    sheets: list[tuple[str, list[tuple[str, str]], list[dict[str, Any]]]] = field(default_factory=list)
    """Further tables, written as extra sheets of the .xlsx only."""


class NoLedgerYet(Failed):
    """The subsidy ledger table does not exist yet (its migration has not been applied)."""


async def _require(conn: asyncpg.Connection, table: str) -> None:
    if not await table_exists(conn, table):
        raise Failed(f"no `{table}` table in the database yet: the worker applies the migrations when it "
                     "starts (make run)")


async def coverage(conn: asyncpg.Connection) -> Report:
    """D2: per key field, the designated centers, those in the designation procedure, and covered or not."""
    await _require(conn, "centers")
    counts = await field_counts(conn, sorted(p.value for p in DESIGNATED_PHASES),
                                sorted(p.value for p in BEFORE_DESIGNATION))
    rows = []
    for key in KEY_FIELDS:
        row = counts.get(key.value)
        designated = int(row["designated"]) if row else 0
        rows.append({
            "field": key.value, "field_zh": FIELD_NAMES_ZH[key], "designated": designated,
            "in_procedure": int(row["in_procedure"]) if row else 0, "covered": designated > 0,
        })
    covered = sum(r["covered"] for r in rows)
    return Report(
        "coverage", "D2 key-field coverage / 重点领域覆盖情况",
        [("field", "field 领域"), ("field_zh", "领域名称"), ("designated", "designated centers 已认定"),
         ("in_procedure", "in procedure 认定程序中"), ("covered", "covered 已覆盖")],
        rows,
        [f"D2: every key industry is to be covered by 2027; {covered} of {len(rows)} key fields covered.",
         "designated = phase designated or rectifying; in procedure = preparing, county_review, "
         "city_evaluation or public_notice."],
    )


async def status(conn: asyncpg.Connection) -> Report:
    """The status board: one row per center (the `centers` table the workflows keep current)."""
    await _require(conn, "centers")
    records = await status_rows(conn)
    rows = [{**r, "next_deadline_at": due_text(r["next_deadline_at"]) if r["next_deadline_at"] else None}
            for r in records]
    return Report(
        "status", "Status board / 产业创新中心状态一览",
        [("center_id", "center 中心编号"), ("name", "name 名称"), ("county", "county 县区"),
         ("field", "field 领域"), ("route", "route 路径 (D1)"), ("phase", "phase 阶段"),
         ("lead_unit", "lead unit 牵头单位"), ("credit_code", "credit code 统一社会信用代码"),
         ("designated_on", "designated on 认定日期"), ("last_grade", "last grade 最近评价 (M1)"),
         ("next_deadline_at", "next deadline 下一截止 (Asia/Shanghai)"), ("revision", "revision"),
         ("updated_at", "updated 更新时间 (Asia/Shanghai)")],
        rows,
        [f"{len(rows)} center(s)."],
    )


LEDGER_COLUMNS = [
    ("year", "year 年度"), ("center_id", "center 中心编号"), ("name", "name 名称"), ("kind", "kind 类型"),
    ("amount_yuan", "amount 金额 (yuan)"), ("rule_id", "rule 规则"), ("actor", "by 经办"),
    ("at", "at 时间 (Asia/Shanghai)"), ("reference", "reference 文号"), ("key", "key"),
]


async def ledger(conn: asyncpg.Connection) -> Report:
    """S1-S3, PD6: every ledger entry (advance, settlement, clawback, repayment) in recorded order.

    The .xlsx adds a sheet of balances per center and year (S2) and one of the city's advances per
    year against the cap (PD6), both derived from the entries by db/ledger.py.
    """
    if not await table_exists(conn, LEDGER_TABLE):
        raise NoLedgerYet(f"no ledger yet: the `{LEDGER_TABLE}` table does not exist in this database "
                          "(migration 002_subsidy_ledger not applied: start the worker); nothing was written")
    rows = await ledger_rows(conn)
    report = Report("ledger", "Subsidy ledger / 补助资金台账 (S1-S3, PD5, PD6)", LEDGER_COLUMNS, rows,
                    [f"{len(rows)} ledger entr{'y' if len(rows) == 1 else 'ies'}; amounts in yuan, exact to the fen.",
                     "S2: advances are paid first; the settlement fixes the amount due; the excess is clawed back."])
    cities = await city_years(conn)
    balances = [b for c in cities for b in await year_balances(conn, c.year)]
    report.sheets.append(("balances", [
        ("year", "year 年度"), ("center_id", "center 中心编号"), ("advanced_yuan", "advanced 预拨"),
        ("due_yuan", "due 核定应得 (S2)"), ("clawed_back_yuan", "clawed back 收回"),
        ("repaid_yuan", "repaid 已缴回"), ("outstanding_yuan", "outstanding 待缴回"), ("net_yuan", "net 净额"),
    ], [b.model_dump() for b in balances]))
    report.sheets.append(("city", [
        ("year", "year 年度"), ("cap_yuan", "cap 年度上限 (S1, PD6)"), ("advanced_yuan", "advanced 已预拨"),
        ("headroom_yuan", "headroom 剩余额度"), ("clawed_back_yuan", "clawed back 收回"),
        ("repaid_yuan", "repaid 已缴回"), ("centers", "centers 中心数"),
    ], [c.model_dump() for c in cities]))
    report.notes.append("PD6: clawbacks and repayments do not restore the year's headroom.")
    return report


REPORTS = {"coverage": coverage, "status": status, "ledger": ledger}


# -- writers ---------------------------------------------------------------------------------------

# OWASP CSV injection: a cell starting with one of these is read as a formula by Excel/LibreOffice
# (tab and CR too, which some importers strip before looking). Names, lead units, ledger references
# and actors are typed by people outside the bureau, so such text is written as text, never a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The characters an .xlsx cannot hold (openpyxl's ILLEGAL_CHARACTERS_RE refuses them and aborts the
# whole workbook): C0 controls except tab, newline and carriage return.
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def safe_text(text: str) -> str:
    """Text as a spreadsheet cell shows it, inert: control characters dropped, a formula start quoted."""
    text = CONTROL.sub("", text)
    return "'" + text if text.startswith(FORMULA_START) else text


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return f"{value.astimezone(SHANGHAI):%Y-%m-%d %H:%M}" if value.tzinfo else value.isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "; ".join(_text(v) for v in value)
    return str(value)


def write_csv(report: Report, stream: TextIO) -> None:
    writer = csv.writer(stream, lineterminator="\r\n")
    writer.writerow([header for _, header in report.columns])
    for row in report.rows:
        writer.writerow([_csv_cell(row.get(key)) for key, _ in report.columns])


def _csv_cell(value: Any) -> str:
    """Numbers stay numbers (a clawback of -100.00 is not an injection); any text is made inert."""
    if isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return _text(value)
    return safe_text(_text(value))


def _cell(value: Any) -> Any:
    """A value openpyxl stores natively: numbers, dates, naive Shanghai datetimes, else text."""
    if isinstance(value, str):
        return CONTROL.sub("", value)  # stored as a text cell by _fill_sheet, never as a formula
    if value is None or isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, datetime):
        return value.astimezone(SHANGHAI).replace(tzinfo=None) if value.tzinfo else value
    if isinstance(value, date):
        return value
    return CONTROL.sub("", _text(value))


def _fill_sheet(sheet: Any, columns: list[tuple[str, str]], rows: list[dict[str, Any]]) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    sheet.append([header for _, header in columns])
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for row in rows:
        sheet.append([_cell(row.get(key)) for key, _ in columns])
    for column_cells in sheet.iter_cols(min_row=2):
        for cell in column_cells:
            if cell.data_type == "f":
                # openpyxl takes any str starting with "=" for a formula; this one is text someone typed.
                # quotePrefix keeps Excel from re-reading it as a formula when the cell is edited.
                cell.data_type = "s"
                cell.quotePrefix = True
            elif isinstance(cell.value, str) and cell.value.startswith(FORMULA_START):
                cell.quotePrefix = True
            if isinstance(cell.value, datetime):
                cell.number_format = "yyyy-mm-dd hh:mm"
            elif isinstance(cell.value, date):
                cell.number_format = "yyyy-mm-dd"
            elif isinstance(cell.value, Decimal):
                cell.number_format = "#,##0.00"
    for index, (key, header) in enumerate(columns, start=1):
        longest = max([len(header)] + [len(_text(r.get(key))) for r in rows])
        sheet.column_dimensions[get_column_letter(index)].width = min(60, max(10, longest * 1.6))
    sheet.freeze_panes = "A2"


def write_xlsx(report: Report, path: Path, generated_at: datetime) -> None:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = report.name
    _fill_sheet(sheet, report.columns, report.rows)
    for name, columns, rows in report.sheets:
        _fill_sheet(book.create_sheet(name), columns, rows)
    about = book.create_sheet("about")
    about.append(["report", report.title])
    about.append(["generated (Asia/Shanghai)", generated_at.astimezone(SHANGHAI).replace(tzinfo=None)])
    about["B2"].number_format = "yyyy-mm-dd hh:mm"
    for note in report.notes:
        about.append(["note", note])
    about.column_dimensions["A"].width = 26
    about.column_dimensions["B"].width = 100
    book.save(path)


def output_format(fmt: str | None, out: str | None) -> str:
    if fmt:
        return fmt
    if out and out.lower().endswith(".xlsx"):
        return "xlsx"
    return "csv"


def write_report(report: Report, fmt: str, out: str | None, stdout: TextIO, generated_at: datetime) -> str:
    """Write the report atomically (a temp file renamed into place); return where it went."""
    if fmt == "xlsx" and not out:
        raise BadInput("--out FILE.xlsx is required for --format xlsx")
    if not out or out == "-":
        write_csv(report, stdout)
        return "stdout"
    target = Path(out)
    if not target.parent.exists():
        raise BadInput(f"--out: directory {target.parent} does not exist")
    if target.is_dir():
        raise BadInput(f"--out: {target} is a directory; name a file")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    except OSError as err:
        raise BadInput(f"--out: cannot write in {target.parent}: {err.strerror or err}") from None
    os.close(fd)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes it private; a report is an ordinary file
    try:
        if fmt == "xlsx":
            write_xlsx(report, Path(tmp), generated_at)
        else:
            buffer = io.StringIO()
            write_csv(report, buffer)
            Path(tmp).write_text(buffer.getvalue(), encoding="utf-8-sig", newline="")
        try:
            os.replace(tmp, target)
        except OSError as err:
            raise BadInput(f"--out: cannot write {target}: {err.strerror or err}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return str(target)
