"""`centers calendar`: staff see how far the working-day data reaches (PD2) and when a notice ends (D7)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rules import calendar as cal
from tests.centers.cli_support import cli

LATE_NOVEMBER = datetime(2026, 11, 29, 2, 0, tzinfo=UTC)
EARLY_OCTOBER = datetime(2026, 10, 1, 2, 0, tzinfo=UTC)


@pytest.fixture
def overrides(tmp_path, monkeypatch):
    """Point CENTERS_WORKING_DAY_OVERRIDES at a file written by the test; reload before and after."""

    def use(text: str) -> str:
        path = tmp_path / "working_days.toml"
        path.write_text(text, encoding="utf-8")
        monkeypatch.setenv(cal.OVERRIDES_ENV, str(path))
        cal.default_calendar.cache_clear()
        return str(path)

    monkeypatch.delenv(cal.OVERRIDES_ENV, raising=False)
    cal.default_calendar.cache_clear()
    yield use
    cal.default_calendar.cache_clear()


async def test_pd2_calendar_check_fails_when_the_data_ends_within_60_days(overrides):
    result = await cli("calendar", "--check", now=LATE_NOVEMBER)
    assert result.status == 1, result
    assert "covered through: 2026-12-31 (32 days from 2026-11-29)" in result.out
    assert "2027" in result.err and cal.OVERRIDES_ENV in result.err


async def test_pd2_calendar_check_passes_with_time_to_spare(overrides):
    result = await cli("calendar", "--check", now=EARLY_OCTOBER)
    assert result.status == 0 and result.err == "", result


async def test_pd2_calendar_shows_an_added_year_and_its_source(overrides):
    path = overrides('[2027]\nsource = "test fixture, not the real notice"\nholidays = [2027-01-01]\n')
    result = await cli("calendar", "--check", "--json", now=LATE_NOVEMBER)
    assert result.status == 0, result
    data = result.json()
    assert data["covered_through"] == "2027-12-31" and data["warning"] is None
    assert data["overrides"] == [{"year": 2027, "source": "test fixture, not the real notice", "file": path}]


async def test_d7_calendar_shows_when_a_notice_ends(overrides):
    # Published Tue 30 Sep 2025: 30 Sep (1), National Day break 1-8 Oct, Thu 9 (2), Fri 10 (3),
    # Sat 11 is an adjusted working day (4), Mon 13 (5).
    result = await cli("calendar", "--notice-from", "2025-09-30", now=EARLY_OCTOBER)
    assert result.status == 0, result
    assert "published on 2025-09-30 ends 2025-10-13 24:00 (Asia/Shanghai)" in result.out


async def test_pd2_calendar_refuses_a_notice_into_an_uncovered_year(overrides):
    result = await cli("calendar", "--notice-from", "2026-12-28", now=LATE_NOVEMBER)
    assert result.status == 1 and "does not cover the year 2027" in result.err, result


@pytest.mark.parametrize("args, field", [(["--notice-from", "2026-13-01"], "--notice-from"),
                                         (["--notice-from", "2026-12-01", "--working-days", "0"], "--working-days")])
async def test_pd2_calendar_bad_input_names_the_option(overrides, args, field):
    result = await cli("calendar", *args, now=LATE_NOVEMBER)
    assert result.status == 2 and result.err.startswith(field), result


async def test_pd2_calendar_reports_an_invalid_override_file(overrides):
    overrides("[2027\n")
    result = await cli("calendar", now=LATE_NOVEMBER)
    assert result.status == 1 and "not valid TOML" in result.err, result
