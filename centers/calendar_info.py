"""`centers calendar`: how far this machine's working-day calendar reaches (PD2), and notice ends (D7).

Staff use it when the State Council publishes a new year's holidays: `--from-notice NOTICE.txt
--year Y` reads the notice's text into the year's table (rules/calendar_notice.py) for a person to
check and add to the override file; then `centers calendar` shows the year covered and
`--notice-from` shows when a notice would end. The worker reads the same data (the same files and
CENTERS_WORKING_DAY_OVERRIDES) on its machine.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from centers.context import Context
from centers.errors import FAILED, OK, BadInput, Failed
from rules.calendar import (
    OVERRIDES_ENV,
    CalendarNotCovered,
    OverrideFileError,
    WorkingDayCalendar,
    coverage_warning,
    default_calendar,
    load_overrides,
    local_date,
    override_paths,
    parse_overrides,
)
from rules.calendar_notice import NoticeDays, NoticeError, parse_notice
from rules.messages import format_due

WEEKDAY_ZH = "一二三四五六日"


def show(ctx: Context, *, notice_from: str | None, working_days: int, check: bool, as_json: bool) -> int:
    """Print the calendar's reach; with ``check``, exit 1 when it ends within the warning horizon."""
    try:
        calendar = default_calendar()
    except OverrideFileError as err:
        ctx.warn(err.for_staff())
        return FAILED
    today = local_date(ctx.clock())
    through = calendar.covered_through(today)
    warning = coverage_warning(through, today)
    notice = notice_end(calendar, notice_from, working_days) if notice_from else None
    overrides = [{"year": o.year, "source": o.source, "file": o.path} for o in sorted(calendar.overrides.values(),
                                                                                       key=lambda o: o.year)]
    files = [str(p) for p in override_paths()]
    if as_json:
        ctx.emit({"today": str(today), "covered_years": calendar.coverage(),
                  "covered_through": str(through), "days_left": (through - today).days,
                  "warning": warning, "override_files": files,
                  "overrides": overrides, "notice_ends": notice})
    else:
        ctx.print("Working-day calendar (PD2) as this machine reads it")
        ctx.print(f"  years covered:   {calendar.coverage()}")
        ctx.print(f"  covered through: {through} ({(through - today).days} days from {today})")
        ctx.print(f"  override files:  {', '.join(files)}{'' if len(files) > 1 else f' ({OVERRIDES_ENV} not set)'}")
        for o in overrides:
            ctx.print(f"  [{o['year']}] {o['source']} ({o['file']})")
        if notice:
            ctx.print(f"  a {working_days}-working-day notice published on {notice_from} ends {notice} (D7, PD1)")
    if warning:
        ctx.warn(warning)
    return FAILED if check and warning else OK


def notice_end(calendar: WorkingDayCalendar, published_on: str, working_days: int) -> str:
    """D7: when a notice published on ``published_on`` ends, shown in Asia/Shanghai (PD1)."""
    try:
        day = date.fromisoformat(published_on)
    except ValueError:
        raise BadInput(f"--notice-from: {published_on!r} is not a date (YYYY-MM-DD)") from None
    if working_days < 1:
        raise BadInput(f"--working-days: must be at least 1 (D7 sets 5), got {working_days}")
    try:
        return format_due(calendar.notice_end(day, working_days))
    except CalendarNotCovered as err:
        raise Failed(str(err)) from None


def from_notice(ctx: Context, path: str, year: int | None, source: str | None) -> int:
    """PD2: print the override table a notice sets (stdout) and a day-by-day summary to check (stderr)."""
    if year is None:
        raise BadInput("--year: which year the notice is for (e.g. --year 2027) is required with --from-notice")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise BadInput(f"--from-notice: cannot read {path}: {err}") from None
    try:
        days = parse_notice(text, year)
    except NoticeError as err:
        raise Failed(str(err)) from None
    table = days.toml(source or f"国务院办公厅关于{year}年部分节假日安排的通知 (read by centers calendar --from-notice)")
    _check_against_overrides(table, year)
    if ctx.json_mode:
        ctx.emit({"year": year, "table": table, "summary": summary(days)})
    else:
        ctx.print(table.rstrip())
    for line in summary(days):
        ctx.warn(line)
    ctx.warn(f"Check these dates against the notice, then add the [{year}] table above to "
             f"rules/data/working_days.toml (or the file named by {OVERRIDES_ENV}) and restart the workers.")
    return OK


def _check_against_overrides(table: str, year: int) -> None:
    """The new table must load, and agree with any previous-December date another year already lists."""
    try:
        others = {y: o for y, o in load_overrides(override_paths()).items() if y != year}
        WorkingDayCalendar({**others, **parse_overrides(table, Path(f"<table read from the notice for {year}>"))})
    except OverrideFileError as err:
        raise Failed(f"PD2: the table does not fit the override data: {err}") from None


def summary(days: NoticeDays) -> list[str]:
    """Breaks (consecutive days off) and adjusted working days, with weekdays, for a person to check."""
    lines = [f"[{days.year}] as read from the notice:"]
    lines += [f"  off   {_day(run[0])} .. {_day(run[-1])}  ({len(run)} days)" for run in days.breaks()]
    lines += [f"  work  {_day(d)}" for d in sorted(days.workdays)]
    return lines


def _day(d: date) -> str:
    return f"{d.isoformat()} 周{WEEKDAY_ZH[d.weekday()]}"
