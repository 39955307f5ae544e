"""`centers calendar`: staff see how far the working-day data reaches (PD2) and when a notice ends (D7)."""

from __future__ import annotations

import tomllib
from datetime import UTC, date, datetime, time, timedelta

import pytest

from rules import calendar as cal
from tests.centers.cli_support import REPO, cli
from tests.fixtures.calendar import shipped_end

LATE_NOVEMBER = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
EARLY_OCTOBER = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)
END = shipped_end()  # 2026-12-31 until the bureau adds 2027


def days_before_end(days: int) -> datetime:
    return datetime.combine(END - timedelta(days=days), time(10), cal.SHANGHAI)


async def test_pd2_calendar_check_fails_when_the_data_ends_within_60_days(shipped_calendar_only):
    result = await cli("calendar", "--check", now=days_before_end(32))
    assert result.status == 1, result
    assert f"covered through: {END} (32 days from {END - timedelta(days=32)})" in result.out
    assert str(END.year + 1) in result.err and cal.OVERRIDES_ENV in result.err


async def test_pd2_calendar_check_passes_with_time_to_spare(shipped_calendar_only):
    result = await cli("calendar", "--check", now=days_before_end(61))
    assert result.status == 0 and result.err == "", result


async def test_pd2_calendar_shows_an_added_year_and_its_source(env_overrides):
    path = env_overrides('[2027]\nsource = "test fixture, not the real notice"\nholidays = [2027-01-01]\n')
    result = await cli("calendar", "--check", "--json", now=LATE_NOVEMBER)
    assert result.status == 0, result
    data = result.json()
    assert data["covered_through"] == "2027-12-31" and data["warning"] is None
    assert data["overrides"] == [{"year": 2027, "source": "test fixture, not the real notice", "file": path}]


async def test_d7_calendar_shows_when_a_notice_ends(shipped_calendar_only):
    # Published Tue 30 Sep 2025: 30 Sep (1), National Day break 1-8 Oct, Thu 9 (2), Fri 10 (3),
    # Sat 11 is an adjusted working day (4), Mon 13 (5).
    result = await cli("calendar", "--notice-from", "2025-09-30", now=EARLY_OCTOBER)
    assert result.status == 0, result
    assert "published on 2025-09-30 ends 2025-10-13 24:00 (Asia/Shanghai)" in result.out


async def test_pd2_calendar_refuses_a_notice_into_an_uncovered_year(shipped_calendar_only):
    # 28..31 December hold at most 4 working days: a 5-day notice runs into the next year.
    result = await cli("calendar", "--notice-from", f"{END.year}-12-28", now=days_before_end(32))
    assert result.status == 1 and f"does not cover the year {END.year + 1}" in result.err, result


@pytest.mark.parametrize("args, field", [(["--notice-from", "2026-13-01"], "--notice-from"),
                                         (["--notice-from", "2026-12-01", "--working-days", "0"], "--working-days")])
async def test_pd2_calendar_bad_input_names_the_option(shipped_calendar_only, args, field):
    result = await cli("calendar", *args, now=LATE_NOVEMBER)
    assert result.status == 2 and result.err.startswith(field), result


async def test_pd2_calendar_reports_an_invalid_override_file(env_overrides):
    env_overrides("[2027\n")
    result = await cli("calendar", now=LATE_NOVEMBER)
    assert result.status == 1 and "not valid TOML" in result.err, result


# --- the yearly chore: a new year's notice into the override file -------------------------------

MADE_UP_2027_NOTICE = """测试用通知（虚构，非国务院实际安排）
一、元旦：1月1日（周五）至3日（周日）放假，共3天。
二、春节：2月6日（周六）至14日（周日）放假调休，共9天。2月20日（周六）上班。
国务院办公厅
"""


async def test_pd2_from_notice_prints_the_table_and_a_summary_to_check(shipped_calendar_only, tmp_path):
    notice = REPO / "tests" / "fixtures" / "notices" / "2026.txt"
    result = await cli("calendar", "--from-notice", str(notice), "--year", "2026", "--source", "国办发明电 test")
    assert result.status == 0, result
    table = tomllib.loads(result.out)["2026"]
    assert table["source"] == "国办发明电 test" and date(2026, 10, 10) in table["workdays"]
    assert "off   2026-02-15 周日 .. 2026-02-23 周一  (9 days)" in result.err
    assert "work  2026-02-28 周六" in result.err


async def test_pd2_a_new_years_notice_read_added_and_counted(env_overrides, tmp_path):
    """The whole chore: read the notice, add the table, the year is covered and notices run into it."""
    notice = tmp_path / "2027.txt"
    notice.write_text(MADE_UP_2027_NOTICE, encoding="utf-8")
    read = await cli("calendar", "--from-notice", str(notice), "--year", "2027", "--source", "test fixture")
    assert read.status == 0, read
    env_overrides(read.out)
    assert (await cli("calendar", "--check", now=LATE_NOVEMBER)).status == 0
    # Mon 2026-12-28 (1), 29 (2), 30 (3), 31 (4), [1-3 Jan off], Mon 2027-01-04 (5).
    ends = await cli("calendar", "--notice-from", "2026-12-28", now=LATE_NOVEMBER)
    assert "ends 2027-01-04 24:00 (Asia/Shanghai)" in ends.out, ends


async def test_pd2_from_notice_refuses_what_it_cannot_read(shipped_calendar_only, tmp_path):
    notice = tmp_path / "bad.txt"
    notice.write_text("一、元旦：1月1日（周四）至3日（周日）放假。", encoding="utf-8")
    result = await cli("calendar", "--from-notice", str(notice), "--year", "2027")
    assert result.status == 1 and "is not a 周四" in result.err and result.out == "", result
    missing_year = await cli("calendar", "--from-notice", str(notice))
    assert missing_year.status == 2 and missing_year.err.startswith("--year"), missing_year
    unreadable = await cli("calendar", "--from-notice", str(tmp_path / "missing.txt"), "--year", "2027")
    assert unreadable.status == 2 and unreadable.err.startswith("--from-notice"), unreadable


async def test_pd2_from_notice_refuses_a_table_that_contradicts_another_year(env_overrides, tmp_path):
    """A previous-December day the next year's table already lists the other way round."""
    env_overrides('[2028]\nsource = "x"\nholidays = [2028-01-03]\nworkdays = [2027-12-26]\n')  # Sunday 26 Dec 2027 worked
    notice = tmp_path / "2027.txt"
    notice.write_text("一、元旦：1月1日（周五）放假。二、圣诞：12月26日（周日）放假。", encoding="utf-8")
    result = await cli("calendar", "--from-notice", str(notice), "--year", "2027")
    assert result.status == 1 and "does not fit the override data" in result.err, result
