"""The working-day calendar: pure date arithmetic for deadlines (PD1, PD2, PD3).

PD1: every date is an Asia/Shanghai date; a deadline "on day X" ends at 24:00 of day X.
PD2: working days follow the PRC statutory calendar (weekends off except adjusted working days,
public holidays off). Data: ``chinese_calendar`` plus override files the bureau extends when the
State Council publishes a new year (``rules/data/working_days.toml`` and the file named by
``CENTERS_WORKING_DAY_OVERRIDES``). A year neither covers raises ``CalendarNotCovered``; never a guess.
PD3: "within N months" counts calendar months, day of month kept, clamped to the month's end.
PD10: every period in months or years ends as Chinese law counts it (:func:`period_end`): the day of the
event not counted, the corresponding day (clamped), moved to the next working day over rest days, 24:00.

No network; the only I/O is reading the override files, once per process (``default_calendar``).
"""

from __future__ import annotations

import calendar
import functools
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar

SHANGHAI = ZoneInfo("Asia/Shanghai")
OVERRIDES_ENV = "CENTERS_WORKING_DAY_OVERRIDES"
PACKAGED_OVERRIDES = Path(__file__).parent / "data" / "working_days.toml"
# PD2 (operations): warn this many days before the calendar's data runs out. A 5-working-day notice
# across the Spring Festival spans about two weeks; 60 days leaves the bureau time to enter the State
# Council's schedule, which is usually published in November or December of the year before.
COVERAGE_WARNING_DAYS = 60


class CalendarNotCovered(ValueError):
    """PD2: no calendar data for ``year``; a person must add it, the system never guesses."""

    def __init__(self, year: int, covered: str = "") -> None:
        self.year = year
        known = f" (covered: {covered})" if covered else ""
        super().__init__(
            f"PD2: the working-day calendar does not cover the year {year}{known}. Working days cannot be "
            f"counted without the State Council's holiday schedule for {year}: a person must add a [{year}] "
            f"table (holidays, workdays, source) to rules/data/working_days.toml or to the file named by "
            f"the {OVERRIDES_ENV} environment variable, then restart the workers."
        )


class OverrideFileError(ValueError):
    """PD2: an override file is malformed; an operator must fix it (it is never half-used)."""

    def for_staff(self) -> str:
        """The one message every surface (activity, worker log, board, CLI) shows for bad data."""
        return f"PD2: the working-day override data is invalid, an operator must fix it: {self}"


def end_of_day(d: date) -> datetime:
    """PD1: the instant a deadline "on day ``d``" ends, 24:00 Shanghai, as an aware UTC datetime."""
    return datetime.combine(d + timedelta(days=1), time(0), SHANGHAI).astimezone(UTC)


def local_date(moment: datetime) -> date:
    """PD1: the Asia/Shanghai calendar date of an aware instant."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        # A naive datetime would silently take the host's zone, which is exactly what PD1 forbids.
        raise ValueError(f"PD1: local_date needs an aware datetime, got naive {moment!r}")
    return moment.astimezone(SHANGHAI).date()


def add_calendar_months(d: date, months: int) -> date:
    """PD3: ``d`` plus ``months`` calendar months, day kept, clamped to month end (30 Nov + 3 -> 28/29 Feb)."""
    year, month0 = divmod(d.year * 12 + d.month - 1 + months, 12)
    return date(year, month0 + 1, min(d.day, calendar.monthrange(year, month0 + 1)[1]))


def add_years(d: date, years: int) -> date:
    """PD3 clamping applied to years: 29 Feb + 1 year -> 28 Feb."""
    year = d.year + years
    return date(year, d.month, min(d.day, calendar.monthrange(year, d.month)[1]))


@dataclass(frozen=True)
class YearOverride:
    """PD2: one year's schedule as published by the State Council, from one override file."""

    year: int
    holidays: frozenset[date]
    workdays: frozenset[date]
    source: str
    path: str


def _dates(value: object, key: str, year: int, where: str) -> frozenset[date]:
    if not isinstance(value, list):
        raise OverrideFileError(f"{where}: {key} must be a list of dates (YYYY-MM-DD, unquoted)")
    for item in value:
        # tomllib gives datetime for 2027-01-01T00:00; datetime is a date subclass, so check exactly.
        if type(item) is not date:
            raise OverrideFileError(f"{where}: {key} holds {item!r}, not a date (YYYY-MM-DD, unquoted)")
        # A year's notice may set days in the previous December (the 2019 notice made Sat 2018-12-29
        # a working day), so that year is allowed too.
        if item.year not in (year - 1, year):
            raise OverrideFileError(f"{where}: {key} holds {item}, outside {year - 1}-12..{year}")
    return frozenset(value)


def _parse_year(key: str, table: object, path: Path) -> YearOverride:
    where = f"{path} [{key}]"
    if not (key.isdigit() and len(key) == 4) or not isinstance(table, dict):
        raise OverrideFileError(f"{path}: [{key}] must be a table named by a 4-digit year")
    year = int(key)
    unknown = set(table) - {"holidays", "workdays", "source"}
    if unknown:  # a typo such as `holiday =` must not silently drop a year's holidays
        raise OverrideFileError(f"{where}: unknown keys {sorted(unknown)}; expected holidays, workdays, source")
    source = table.get("source")
    if not isinstance(source, str) or not source.strip():
        raise OverrideFileError(f"{where}: source (the State Council notice the dates come from) is required")
    holidays = _dates(table.get("holidays", []), "holidays", year, where)
    workdays = _dates(table.get("workdays", []), "workdays", year, where)
    if holidays & workdays:
        raise OverrideFileError(f"{where}: both holiday and workday: {sorted(holidays & workdays)}")
    # The same checks as the notice reader (rules/calendar_notice.py), so neither path takes data the
    # other would refuse. A year chinese_calendar lacks is defined by its table alone: with no holidays
    # it would count the Spring Festival as working days (a table for a covered year only corrects).
    if not holidays and year not in _library_years():
        raise OverrideFileError(f"{where}: holidays is empty; a year's table needs the State Council's days off "
                                f"(New Year, Spring Festival, ...)")
    weekdays = sorted(d for d in workdays if d.weekday() < 5)
    if weekdays:
        raise OverrideFileError(f"{where}: workdays lists {', '.join(map(str, weekdays))}, a weekday; an adjusted "
                                f"working day (调休) is a Saturday or Sunday")
    return YearOverride(year, holidays, workdays, source.strip(), str(path))


def load_overrides(paths: Iterable[Path]) -> dict[int, YearOverride]:
    """PD2: read override files in order; a year in a later file replaces that year from an earlier one.

    A year is replaced whole, never merged, because one State Council notice sets one year.
    """
    years: dict[int, YearOverride] = {}
    for path in paths:
        try:
            text = Path(path).read_text(encoding="utf-8")
        except OSError as err:  # e.g. a mistyped CENTERS_WORKING_DAY_OVERRIDES must not hide a year
            raise OverrideFileError(f"{path}: cannot read override file ({OVERRIDES_ENV}?): {err}") from err
        years.update(parse_overrides(text, Path(path)))
    return years


def parse_overrides(text: str, path: Path) -> dict[int, YearOverride]:
    """PD2: the year tables of one override file's text (``path`` names it in errors)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise OverrideFileError(f"{path}: not valid TOML: {err}") from err
    return {override.year: override for override in (_parse_year(k, t, path) for k, t in data.items())}


def _library_years() -> range:
    """The years chinese_calendar has data for."""
    return range(min(chinese_calendar.holidays).year, max(chinese_calendar.holidays).year + 1)


class WorkingDayCalendar:
    """PD2: working days from override data first, then ``chinese_calendar``, else an error.

    - A date listed in an override (holidays or workdays) takes the override's word, in any year.
    - Otherwise, a year ``chinese_calendar`` covers follows ``chinese_calendar``: an override table
      for such a year corrects the dates it lists and leaves the others alone.
    - Otherwise, a year with an override table is a working day iff Mon-Fri (dates listed as
      holidays and workdays were handled above).
    - Otherwise ``CalendarNotCovered``.
    """

    def __init__(self, overrides: Mapping[int, YearOverride] | None = None) -> None:
        self.overrides = dict(overrides or {})
        self._listed: dict[date, tuple[bool, YearOverride]] = {}
        for override in self.overrides.values():
            for day, working in [(d, False) for d in override.holidays] + [(d, True) for d in override.workdays]:
                seen = self._listed.get(day)
                if seen is not None and seen[0] != working:
                    # Possible for a previous-December date listed under two years: refuse to pick one.
                    raise OverrideFileError(
                        f"{day} is a {'workday' if working else 'holiday'} in [{override.year}] ({override.path}) "
                        f"but not in [{seen[1].year}] ({seen[1].path})"
                    )
                self._listed[day] = (working, override)

    def coverage(self) -> str:
        """Human-readable description of the covered years, for error messages."""
        shipped = _library_years()
        extra = sorted(set(self.overrides) - set(shipped))
        return f"{shipped.start}..{shipped.stop - 1}" + "".join(f", {y}" for y in extra)

    def covered_years(self) -> set[int]:
        """PD2: the years with data, from chinese_calendar or an override table."""
        return set(_library_years()) | set(self.overrides)

    def covered_through(self, today: date) -> date:
        """PD2: the last day of the unbroken run of covered years holding ``today``.

        If ``today``'s own year is not covered, the end of the last covered year before it (a past date).
        """
        years = self.covered_years()
        if today.year not in years:
            return date(max((y for y in years if y < today.year), default=today.year - 1), 12, 31)
        year = today.year
        while year + 1 in years:
            year += 1
        return date(year, 12, 31)

    def is_working_day(self, d: date) -> bool:
        """PD2: is ``d`` (a Shanghai date) a working day? Raises CalendarNotCovered for an unknown year."""
        if isinstance(d, datetime) or not isinstance(d, date):
            # A datetime's .date() may be the wrong day in Shanghai (PD1): convert with local_date first.
            raise TypeError(f"PD2: is_working_day needs a date, got {type(d).__name__}")
        listed = self._listed.get(d)
        if listed is not None:
            return listed[0]
        try:
            return bool(chinese_calendar.is_workday(d))
        except NotImplementedError:  # chinese_calendar's signal for "no data for this year"
            pass
        if d.year in self.overrides:
            return d.weekday() < 5
        raise CalendarNotCovered(d.year, self.coverage())

    def add_working_days(self, start: date, n: int) -> date:
        """PD2: the ``n``-th working day, counting ``start`` as day 1 if it is a working day, else the next one.

        (``chinese_calendar.find_workday`` counts from the day after; it is not used on purpose.)
        """
        if n < 1:
            raise ValueError(f"PD2: the number of working days must be at least 1, got {n}")
        day, count = start, 0
        while True:  # ends: every year has working days, and an uncovered year raises
            if self.is_working_day(day):
                count += 1
                if count == n:
                    return day
            day += timedelta(days=1)

    def notice_end(self, published_on: date, working_days: int) -> datetime:
        """D7, PD2: the end (24:00 Shanghai, as UTC) of a notice of ``working_days`` working days."""
        return end_of_day(self.add_working_days(published_on, working_days))


def coverage_warning(covered_through: date, today: date, horizon_days: int = COVERAGE_WARNING_DAYS) -> str | None:
    """PD2: a bilingual warning for staff when the calendar's data ends within ``horizon_days`` (or has ended).

    Until a person adds the next year, every public notice (D7) that would run into it is refused.
    """
    days_left = (covered_through - today).days
    if days_left > horizon_days:
        return None
    year = covered_through.year + 1
    where_zh = f"rules/data/working_days.toml 或环境变量 {OVERRIDES_ENV} 所指的文件"
    where_en = f"rules/data/working_days.toml or the file named by {OVERRIDES_ENV}"
    if days_left >= 0:
        zh = f"工作日历数据只到 {covered_through}（还剩 {days_left} 天）"
        en = f"the working-day calendar's data ends on {covered_through} ({days_left} days left)"
    else:
        zh = f"工作日历数据已于 {covered_through} 结束"
        en = f"the working-day calendar's data ended on {covered_through}"
    return (
        f"PD2: {zh}。国务院公布 {year} 年节假日安排后，请将其加入 {where_zh} 并重启 worker；"
        f"在此之前，跨入 {year} 年的公示（D7）会被拒绝。\n"
        f"PD2: {en}. When the State Council publishes the {year} holiday schedule, add it to {where_en} "
        f"and restart the workers; until then, public notices (D7) running into {year} are refused."
    )


def calendar_alert(covered_through: date | None, problem: str | None, today: date) -> str | None:
    """PD2: what staff must be told about the calendar's data today: invalid, ending soon, or nothing.

    ``covered_through`` None with no problem means "not known" (e.g. read by older code): no alert.
    """
    if problem:
        return problem
    return coverage_warning(covered_through, today) if covered_through else None


def default_coverage(today: date) -> tuple[date | None, str | None]:
    """PD2: (the default calendar's covered-through date, None), or (None, why) if its data is invalid."""
    try:
        return default_calendar().covered_through(today), None
    except OverrideFileError as err:
        return None, err.for_staff()


_operator_overrides: Path | None = None  # set by use_overrides_file, from the process's settings


def use_overrides_file(path: Path | None) -> None:
    """PD2: the operator's override file (``Settings.centers_working_day_overrides``), or None for the
    packaged data alone. Called by each process's entry point; the default calendar reloads."""
    global _operator_overrides
    _operator_overrides = Path(path) if path is not None and str(path).strip() else None
    default_calendar.cache_clear()


def override_paths() -> list[Path]:
    """PD2: the packaged override file, then the operator's file, if one was set."""
    # Set but missing fails loudly in load_overrides: a typo must not silently drop a year.
    return [PACKAGED_OVERRIDES, *([_operator_overrides] if _operator_overrides is not None else [])]


@functools.cache
def default_calendar() -> WorkingDayCalendar:
    """The process-wide calendar, loaded once on first use (``default_calendar.cache_clear()`` reloads)."""
    return WorkingDayCalendar(load_overrides(override_paths()))


def is_working_day(d: date) -> bool:
    """PD2, with the default calendar."""
    return default_calendar().is_working_day(d)


def add_working_days(start: date, n: int) -> date:
    """PD2, with the default calendar."""
    return default_calendar().add_working_days(start, n)


def notice_end(published_on: date, working_days: int) -> datetime:
    """D7, PD2: ``end_of_day(add_working_days(published_on, working_days))``, with the default calendar."""
    return default_calendar().notice_end(published_on, working_days)


# -- PD10: periods counted as Chinese law counts them ------------------------------------------------


@dataclass(frozen=True)
class PeriodEnd:
    """PD10: where a period of months or years ends.

    ``nominal`` is the corresponding day of the last month (Civil Code art. 202; clamped, PD3);
    ``last_day`` the legal last day: ``nominal``, or the next working day if ``nominal`` is a rest day
    (art. 203). ``last_day`` is None while the calendar of ``nominal``'s year is not known: the period
    is then *provisional* and its nominal end stands until the data exists (never a guess).
    """

    nominal: date
    last_day: date | None

    @property
    def provisional(self) -> bool:
        return self.last_day is None

    @property
    def day(self) -> date:
        """The last day as far as it is known: the legal one, else the nominal one (provisional)."""
        return self.last_day or self.nominal

    @property
    def due_at(self) -> datetime:
        """PD1, PD10: 24:00 Shanghai of the (possibly provisional) last day, as UTC."""
        return end_of_day(self.day)

    @property
    def moved(self) -> bool:
        """The nominal end fell on a rest day, so the legal last day is later."""
        return self.last_day is not None and self.last_day != self.nominal


def nominal_period_end(start: date, *, months: int = 0, years: int = 0) -> date:
    """PD10 (art. 201-202): the day of ``start`` is not counted, so the period ends on the day of its last
    month corresponding to ``start`` (31 Aug + 6 months -> the last day of February)."""
    if months < 0 or years < 0 or months + years == 0:
        raise ValueError(f"PD10: a period needs a positive length, got months={months}, years={years}")
    return add_calendar_months(start, months + 12 * years)


def legal_last_day(nominal: date, calendar: WorkingDayCalendar) -> date:
    """PD10 (art. 203): ``nominal`` if a working day (PD2), else the next working day.

    Raises CalendarNotCovered when a day it must look at is in a year without data.
    """
    day = nominal
    while not calendar.is_working_day(day):  # ends: every covered year has working days
        day += timedelta(days=1)
    return day


def settle_period(nominal: date, calendar: WorkingDayCalendar) -> PeriodEnd:
    """PD10: the legal end of a period whose nominal end is ``nominal``; provisional if data is missing."""
    try:
        return PeriodEnd(nominal, legal_last_day(nominal, calendar))
    except CalendarNotCovered:
        return PeriodEnd(nominal, None)


def period_end(start: date, *, months: int = 0, years: int = 0,
               calendar: WorkingDayCalendar | None = None) -> PeriodEnd:
    """PD10: the one way every period in months or years is counted (M2/PD4, M3/PD3, S3/PD5, PD7 bans).

    ``start`` is the day of the triggering event (not counted). ``.due_at`` is the due time.

    ``calendar=None`` is for workflow code, which must not read calendar data (it changes every year,
    and a replay must take the path the history took): the result is provisional, with the nominal
    end, and the workflow settles it through the ``settle_period_ends`` activity (rules/periods.py).
    Code outside a workflow passes ``calendar=default_calendar()``.
    """
    nominal = nominal_period_end(start, months=months, years=years)
    return PeriodEnd(nominal, None) if calendar is None else settle_period(nominal, calendar)
