"""The working-day calendar (PD1, PD2, PD3). Expected dates were checked against chinese_calendar 1.11."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from rules import calendar as cal
from rules.calendar import (
    CalendarNotCovered,
    OverrideFileError,
    WorkingDayCalendar,
    add_calendar_months,
    add_working_days,
    add_years,
    end_of_day,
    is_working_day,
    load_overrides,
    local_date,
    notice_end,
)

OVERRIDE_2027 = """
[2027]
source = "test fixture, not the real 2027 schedule"
holidays = [2027-01-01, 2027-01-04]
workdays = [2027-01-09]
"""


def calendar_from(tmp_path: Path, text: str) -> WorkingDayCalendar:
    path = tmp_path / "overrides.toml"
    path.write_text(text, encoding="utf-8")
    return WorkingDayCalendar(load_overrides([path]))


# --- PD1 ---------------------------------------------------------------------------------------


def test_pd1_end_of_day_is_next_midnight_shanghai_in_utc() -> None:
    ends = end_of_day(date(2025, 10, 9))
    assert ends == datetime(2025, 10, 9, 16, 0, tzinfo=UTC)
    assert ends.utcoffset() == timedelta(0)
    assert ends.astimezone(cal.SHANGHAI) == datetime(2025, 10, 10, 0, 0, tzinfo=cal.SHANGHAI)


def test_pd1_end_of_day_across_year_end() -> None:
    assert end_of_day(date(2025, 12, 31)) == datetime(2025, 12, 31, 16, 0, tzinfo=UTC)


def test_pd1_local_date_is_the_shanghai_date() -> None:
    assert local_date(datetime(2025, 10, 9, 15, 59, 59, tzinfo=UTC)) == date(2025, 10, 9)
    assert local_date(datetime(2025, 10, 9, 16, 0, tzinfo=UTC)) == date(2025, 10, 10)
    assert local_date(datetime(2025, 10, 9, 23, 0, tzinfo=timezone(timedelta(hours=-5)))) == date(2025, 10, 10)


def test_pd1_local_date_refuses_naive_datetime() -> None:
    with pytest.raises(ValueError, match="PD1"):
        local_date(datetime(2025, 10, 9, 12, 0))


# --- PD2 ---------------------------------------------------------------------------------------


def test_pd2_national_day_2025_notice_from_friday_ends_on_oct_9() -> None:
    # Fri 09-26 (1), Sun 09-28 adjusted (2), 09-29 (3), 09-30 (4), holidays 10-01..08, Thu 10-09 (5)
    assert add_working_days(date(2025, 9, 26), 5) == date(2025, 10, 9)
    assert notice_end(date(2025, 9, 26), 5) == datetime(2025, 10, 9, 16, 0, tzinfo=UTC)


def test_pd2_national_day_2025_holidays_and_adjusted_days() -> None:
    for offset in range(8):
        assert not is_working_day(date(2025, 10, 1) + timedelta(days=offset))
    assert is_working_day(date(2025, 9, 28))  # Sunday, adjusted working day
    assert not is_working_day(date(2025, 9, 27))  # plain Saturday
    assert is_working_day(date(2025, 10, 9))


def test_pd2_published_on_holiday_counts_from_next_working_day() -> None:
    # 10-03 is a holiday: 10-09 (1), 10-10 (2), Sat 10-11 adjusted (3), Mon 10-13 (4), 10-14 (5)
    assert add_working_days(date(2025, 10, 3), 1) == date(2025, 10, 9)
    assert notice_end(date(2025, 10, 3), 5) == datetime(2025, 10, 14, 16, 0, tzinfo=UTC)


def test_pd2_adjusted_working_saturday_counts() -> None:
    assert is_working_day(date(2025, 10, 11))  # Saturday, adjusted working day
    assert add_working_days(date(2025, 10, 11), 1) == date(2025, 10, 11)
    # Spring Festival 2025: Mon 01-27 (1), holidays 01-28..02-04, 02-05 (2), 02-06 (3), 02-07 (4),
    # Sat 02-08 adjusted (5): the notice ends on a Saturday.
    assert add_working_days(date(2025, 1, 27), 5) == date(2025, 2, 8)


def test_pd2_spring_festival_2025() -> None:
    for offset in range(8):
        assert not is_working_day(date(2025, 1, 28) + timedelta(days=offset))
    assert is_working_day(date(2025, 1, 26))  # Sunday, adjusted working day
    assert is_working_day(date(2025, 2, 8))  # Saturday, adjusted working day
    # Fri 01-24 (1), Sun 01-26 (2), Mon 01-27 (3), 02-05 (4), 02-06 (5)
    assert notice_end(date(2025, 1, 24), 5) == datetime(2025, 2, 6, 16, 0, tzinfo=UTC)


def test_pd2_2026_follows_the_state_council_notice() -> None:
    """国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04): the year the service starts in."""
    adjusted_working = [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                        date(2026, 9, 20), date(2026, 10, 10)]
    days_off = [date(2026, 1, 2), date(2026, 2, 16), date(2026, 2, 23), date(2026, 4, 6), date(2026, 5, 4),
                date(2026, 5, 5), date(2026, 6, 19), date(2026, 9, 25), date(2026, 10, 7)]
    assert all(is_working_day(d) for d in adjusted_working)
    assert not any(is_working_day(d) for d in days_off)
    # A notice published on Wed 30 Sep 2026: 30 Sep (1), 8 Oct (2), 9 Oct (3), Sat 10 Oct (4), 12 Oct (5).
    assert notice_end(date(2026, 9, 30), 5) == datetime(2026, 10, 12, 16, 0, tzinfo=UTC)


def test_pd2_start_on_working_day_is_day_one() -> None:
    assert add_working_days(date(2025, 9, 26), 1) == date(2025, 9, 26)
    assert add_working_days(date(2025, 9, 27), 1) == date(2025, 9, 28)  # Saturday -> adjusted Sunday


def test_pd2_working_days_must_be_positive() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        add_working_days(date(2025, 9, 26), 0)


def test_pd2_datetime_is_not_a_date() -> None:
    with pytest.raises(TypeError, match="date"):
        is_working_day(datetime(2025, 10, 9, 20, 0, tzinfo=UTC))  # type: ignore[arg-type]


def test_pd2_uncovered_year_raises_naming_the_year() -> None:
    # A year no data will ever cover, so the test does not change when the bureau adds one.
    with pytest.raises(CalendarNotCovered, match="2199") as caught:
        WorkingDayCalendar().is_working_day(date(2199, 1, 6))
    assert caught.value.year == 2199
    assert "PD2" in str(caught.value) and cal.OVERRIDES_ENV in str(caught.value)


def test_pd2_the_shipped_data_refuses_the_first_year_it_lacks(shipped_calendar_only) -> None:
    """The default calendar, as shipped, refuses the year after its data ends (test years unset)."""
    lacking = WorkingDayCalendar(load_overrides([cal.PACKAGED_OVERRIDES])).covered_through(date.today()).year + 1
    with pytest.raises(CalendarNotCovered) as caught:
        is_working_day(date(lacking, 1, 6))
    assert caught.value.year == lacking


def test_pd2_notice_running_into_uncovered_year_raises(tmp_path: Path) -> None:
    # [2199] only: Mon 2199-12-30 (1), Tue 12-31 (2); the 3rd working day would be in 2200.
    calendar = calendar_from(tmp_path, '[2199]\nsource = "test fixture"\nholidays = [2199-01-01]\n')
    assert calendar.notice_end(date(2199, 12, 30), 2) == datetime(2199, 12, 31, 16, 0, tzinfo=UTC)
    with pytest.raises(CalendarNotCovered) as caught:
        calendar.notice_end(date(2199, 12, 30), 3)
    assert caught.value.year == 2200


def test_pd2_test_years_start_after_the_shipped_data_and_say_they_are_made_up(test_calendar_years) -> None:
    """The suite's made-up years (tests/fixtures/calendar.py) never replace shipped data."""
    shipped = WorkingDayCalendar(load_overrides([cal.PACKAGED_OVERRIDES])).covered_years()
    assert test_calendar_years and min(test_calendar_years) == max(shipped) + 1
    assert all(cal.default_calendar().overrides[y].source.startswith("TEST FIXTURE") for y in test_calendar_years)
    notice_end(date.today(), 5)  # lifecycle tests publish notices "today", whatever the date


def test_pd2_packaged_file_holds_only_state_council_schedules() -> None:
    """Each packaged year cites the State Council's notice; nothing labelled as test data ships."""
    for override in load_overrides([cal.PACKAGED_OVERRIDES]).values():
        assert "国务院" in override.source and "TEST" not in override.source.upper(), override


def test_pd2_override_file_covers_2027(tmp_path: Path) -> None:
    calendar = calendar_from(tmp_path, OVERRIDE_2027)
    assert not calendar.is_working_day(date(2027, 1, 1))  # listed holiday (Friday)
    assert not calendar.is_working_day(date(2027, 1, 2))  # plain Saturday
    assert not calendar.is_working_day(date(2027, 1, 4))  # listed holiday (Monday)
    assert calendar.is_working_day(date(2027, 1, 5))  # plain Tuesday
    assert calendar.is_working_day(date(2027, 1, 9))  # listed workday (Saturday)
    # Tue 2026-12-29 (1), 12-30 (2), 12-31 (3), 2027-01-05 (4), 01-06 (5)
    assert calendar.notice_end(date(2026, 12, 29), 5) == datetime(2027, 1, 6, 16, 0, tzinfo=UTC)
    with pytest.raises(CalendarNotCovered, match="2028"):
        calendar.is_working_day(date(2028, 1, 3))


def test_pd2_override_entry_wins_in_a_covered_year(tmp_path: Path) -> None:
    calendar = calendar_from(tmp_path, """
[2025]
source = "test fixture: a correction"
holidays = [2025-10-09]
workdays = [2025-10-04]
""")
    assert not calendar.is_working_day(date(2025, 10, 9))  # chinese_calendar: working day
    assert calendar.is_working_day(date(2025, 10, 4))  # chinese_calendar: holiday
    # Unlisted dates of a year chinese_calendar covers still follow it.
    assert not calendar.is_working_day(date(2025, 10, 8))
    assert calendar.is_working_day(date(2025, 9, 28))


def test_pd2_env_var_file_extends_default_calendar(env_overrides) -> None:
    env_overrides(OVERRIDE_2027)
    assert is_working_day(date(2027, 1, 5))
    assert not is_working_day(date(2027, 1, 4))


def test_pd2_env_var_naming_missing_file_fails_loudly(shipped_calendar_only) -> None:
    cal.use_overrides_file(Path("/nonexistent/working_days.toml"))
    with pytest.raises(OverrideFileError, match=cal.OVERRIDES_ENV):
        is_working_day(date(2025, 10, 9))


def test_pd2_later_file_replaces_a_year_whole(tmp_path: Path) -> None:
    first, second = tmp_path / "a.toml", tmp_path / "b.toml"
    first.write_text(OVERRIDE_2027, encoding="utf-8")
    second.write_text('[2027]\nsource = "newer"\nholidays = [2027-01-05]\n', encoding="utf-8")
    calendar = WorkingDayCalendar(load_overrides([first, second]))
    assert calendar.overrides[2027].source == "newer"
    assert calendar.is_working_day(date(2027, 1, 4)) and not calendar.is_working_day(date(2027, 1, 5))


@pytest.mark.parametrize("text, message", [
    ('[2027]\nholidays = [2027-01-01]\n', "source"),
    ('[2027]\nsource = "x"\nholiday = [2027-01-01]\n', "unknown keys"),
    ('[2027]\nsource = "x"\nholidays = ["2027-01-01"]\n', "not a date"),
    ('[2027]\nsource = "x"\nholidays = [2028-01-01]\n', "outside"),
    ('[2027]\nsource = "x"\nholidays = [2027-01-01]\nworkdays = [2027-01-01]\n', "both"),
    ('[next]\nsource = "x"\n', "4-digit year"),
    # PD2: the same checks as the notice reader: a year needs its holidays, a make-up workday is a weekend day.
    ('[2027]\nsource = "x"\n', "holidays is empty"),
    ('[2027]\nsource = "x"\nholidays = []\nworkdays = [2027-01-09]\n', "holidays is empty"),
    ('[2027]\nsource = "x"\nholidays = [2027-01-01]\nworkdays = [2027-01-05]\n', "2027-01-05, a weekday"),
    ('[2027\n', "not valid TOML"),
])
def test_pd2_malformed_override_file_is_refused(tmp_path: Path, text: str, message: str) -> None:
    with pytest.raises(OverrideFileError, match=message):
        calendar_from(tmp_path, text)


def test_pd2_previous_december_date_may_be_listed(tmp_path: Path) -> None:
    # Like the 2019 notice (Sat 2018-12-29 worked), a 2027 table may set a day of December 2026.
    calendar = calendar_from(tmp_path, '[2027]\nsource = "x"\nholidays = [2027-01-01]\nworkdays = [2026-12-26]\n')
    assert calendar.is_working_day(date(2026, 12, 26))  # a Saturday


# --- PD2: how far the data reaches, and the warning before it runs out --------------------------


def test_pd2_covered_through_is_the_end_of_the_last_covered_year() -> None:
    calendar = WorkingDayCalendar()
    assert calendar.covered_through(date(2026, 11, 29)) == date(2026, 12, 31)
    assert calendar.covered_through(date(2025, 3, 1)) == date(2026, 12, 31)


def test_pd2_covered_through_follows_override_years_unbroken(tmp_path: Path) -> None:
    calendar = calendar_from(tmp_path, OVERRIDE_2027 + '[2029]\nsource = "x"\nholidays = [2029-01-01]\n')
    assert calendar.covered_through(date(2026, 11, 29)) == date(2027, 12, 31)  # 2028 missing: the run stops
    assert calendar.covered_through(date(2029, 5, 1)) == date(2029, 12, 31)


def test_pd2_covered_through_in_an_uncovered_year_is_in_the_past() -> None:
    assert WorkingDayCalendar().covered_through(date(2027, 2, 1)) == date(2026, 12, 31)


def test_pd2_no_warning_while_the_data_reaches_past_the_horizon() -> None:
    assert cal.coverage_warning(date(2026, 12, 31), date(2026, 10, 31)) is None  # 61 days left
    assert cal.coverage_warning(date(2026, 12, 31), date(2026, 11, 1)) is not None  # 60 days left


def test_pd2_warning_names_the_end_the_next_year_and_where_to_add_it() -> None:
    warning = cal.coverage_warning(date(2026, 12, 31), date(2026, 11, 29))
    assert warning is not None
    assert "2026-12-31" in warning and "32 days left" in warning and "还剩 32 天" in warning
    assert "2027" in warning and cal.OVERRIDES_ENV in warning and "working_days.toml" in warning
    assert "D7" in warning and warning.startswith("PD2")


def test_pd2_warning_after_the_end_says_notices_are_refused() -> None:
    warning = cal.coverage_warning(date(2026, 12, 31), date(2027, 1, 4))
    assert warning is not None and "ended on 2026-12-31" in warning and "已于 2026-12-31 结束" in warning


def test_pd2_calendar_alert_prefers_a_problem_and_stays_quiet_when_unknown() -> None:
    assert cal.calendar_alert(None, "PD2: broken file", date(2026, 11, 29)) == "PD2: broken file"
    assert cal.calendar_alert(None, None, date(2026, 11, 29)) is None
    assert cal.calendar_alert(date(2030, 12, 31), None, date(2026, 11, 29)) is None
    assert "2027" in (cal.calendar_alert(date(2026, 12, 31), None, date(2026, 11, 29)) or "")


def test_pd2_default_coverage_reads_the_env_file(env_overrides) -> None:
    env_overrides(OVERRIDE_2027)
    assert cal.default_coverage(date(2026, 11, 29)) == (date(2027, 12, 31), None)


def test_pd2_default_coverage_reports_an_invalid_file_instead_of_raising(env_overrides) -> None:
    env_overrides("[2027\n")
    covered_through, problem = cal.default_coverage(date(2026, 11, 29))
    assert covered_through is None and problem is not None and "not valid TOML" in problem


# --- PD3 ---------------------------------------------------------------------------------------


def test_pd3_30_november_plus_3_months_is_28_february() -> None:
    assert add_calendar_months(date(2025, 11, 30), 3) == date(2026, 2, 28)


def test_pd3_30_november_plus_3_months_is_29_february_in_leap_year() -> None:
    assert add_calendar_months(date(2027, 11, 30), 3) == date(2028, 2, 29)


def test_pd3_day_of_month_kept() -> None:
    assert add_calendar_months(date(2025, 10, 21), 3) == date(2026, 1, 21)
    assert add_calendar_months(date(2025, 1, 31), 1) == date(2025, 2, 28)
    assert add_calendar_months(date(2025, 3, 31), -1) == date(2025, 2, 28)
    assert add_calendar_months(date(2025, 5, 15), 0) == date(2025, 5, 15)


def test_pd3_add_years_clamps_29_february() -> None:
    assert add_years(date(2028, 2, 29), 1) == date(2029, 2, 28)
    assert add_years(date(2028, 2, 29), 4) == date(2032, 2, 29)
    assert add_years(date(2025, 10, 21), 2) == date(2027, 10, 21)
