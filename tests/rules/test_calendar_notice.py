"""Reading the State Council's holiday notice into an override table (PD2).

The 2025 and 2026 notices (tests/fixtures/notices/) must give, day for day, the calendar that
chinese_calendar ships for those years: the reader is checked against data a person already checked.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import chinese_calendar
import pytest

from rules.calendar import WorkingDayCalendar, load_overrides
from rules.calendar_notice import NoticeError, parse_notice

NOTICES = Path(__file__).resolve().parents[1] / "fixtures" / "notices"


def working_by_notice(days, d: date) -> bool:
    return d in days.workdays or (d.weekday() < 5 and d not in days.holidays)


@pytest.mark.parametrize("year", [2024, 2025, 2026])
def test_pd2_notice_gives_the_shipped_calendar_day_for_day(year: int) -> None:
    days = parse_notice((NOTICES / f"{year}.txt").read_text(encoding="utf-8"), year)
    every_day = [date(year, 1, 1) + timedelta(days=i) for i in range(365)]
    wrong = [d for d in every_day if working_by_notice(days, d) != chinese_calendar.is_workday(d)]
    assert wrong == []


def test_pd2_notice_encouraged_rest_on_new_years_eve_2024_is_a_working_day() -> None:
    """2024: 鼓励…安排职工在除夕（2月9日）休息 asks employers for a favour; 9 February was a working day."""
    days = parse_notice((NOTICES / "2024.txt").read_text(encoding="utf-8"), 2024)
    assert date(2024, 2, 9) not in days.holidays and date(2024, 2, 9) not in days.workdays
    assert date(2024, 2, 10) in days.holidays and chinese_calendar.is_workday(date(2024, 2, 9))


def test_pd2_notice_encouragement_that_also_sets_days_is_refused() -> None:
    with pytest.raises(NoticeError, match="encouragement"):
        parse_notice("一、春节：2月10日至17日放假。鼓励各单位安排职工2月9日放假。", 2024)


def test_pd2_notice_2026_holds_its_adjusted_weekends() -> None:
    days = parse_notice((NOTICES / "2026.txt").read_text(encoding="utf-8"), 2026)
    assert sorted(days.workdays) == [date(2026, 1, 4), date(2026, 2, 14), date(2026, 2, 28), date(2026, 5, 9),
                                     date(2026, 9, 20), date(2026, 10, 10)]
    assert date(2026, 2, 15) in days.holidays and date(2026, 2, 23) in days.holidays  # 腊月二十八 .. 正月初七


def test_pd2_notice_break_starting_in_the_previous_december() -> None:
    days = parse_notice((NOTICES / "2019-new-year.txt").read_text(encoding="utf-8"), 2019)
    assert days.holidays == {date(2018, 12, 30), date(2018, 12, 31), date(2019, 1, 1)}
    assert days.workdays == {date(2018, 12, 29)}
    assert all(not chinese_calendar.is_workday(d) for d in days.holidays)
    assert chinese_calendar.is_workday(date(2018, 12, 29))


def test_pd2_notice_substitute_day_off_is_a_day_off() -> None:
    """Older notices: 1月1日放假，1月2日（星期一）补休."""
    days = parse_notice("一、元旦：1月1日放假，1月2日（星期一）补休。", 2017)
    assert days.holidays == {date(2017, 1, 1), date(2017, 1, 2)} and days.workdays == set()


def test_pd2_notice_table_loads_as_an_override(tmp_path: Path) -> None:
    days = parse_notice((NOTICES / "2026.txt").read_text(encoding="utf-8"), 2026)
    path = tmp_path / "working_days.toml"
    path.write_text(days.toml('国务院办公厅关于2026年部分节假日安排的通知 "test"'), encoding="utf-8")
    override = load_overrides([path])[2026]
    assert override.holidays == days.holidays and override.workdays == days.workdays
    assert override.source.endswith('"test"')
    calendar = WorkingDayCalendar({2026: override})
    assert calendar.is_working_day(date(2026, 10, 10)) and not calendar.is_working_day(date(2026, 10, 7))


@pytest.mark.parametrize("text, message", [
    ("一、元旦：1月1日（周四）至3日（周六）放假调休。1月4日（周六）上班。", "is not a 周六"),
    ("一、春节：2月2日（周一）上班。", "is a weekday"),
    ("一、元旦：1月1日（周四）至3日（周六）。", "cannot tell"),
    ("元旦：1月1日放假。", "no numbered item"),
    ("一、元旦：1月1日至2月20日放假。", "not a holiday break"),
    ("一、元旦：2月30日放假。", "not a date"),
    ("一、说明：本通知自发布之日起施行。", "no day off"),
    ("一、元旦：2024年1月1日放假。", "is this the notice for 2026"),
])
def test_pd2_notice_that_cannot_be_read_with_certainty_is_refused(text: str, message: str) -> None:
    with pytest.raises(NoticeError, match=message):
        parse_notice(text, 2026)
