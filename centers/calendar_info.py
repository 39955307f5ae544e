"""`centers calendar`: how far this machine's working-day calendar reaches (PD2), and notice ends (D7).

Staff use it when the State Council publishes a new year's holidays: after adding the year to the
override file, `centers calendar` shows it covered; `--notice-from` shows when a notice would end.
The worker reads the same data (the same files and CENTERS_WORKING_DAY_OVERRIDES) on its machine.
"""

from __future__ import annotations

import json
from datetime import date

from centers.context import Context
from centers.errors import FAILED, OK, BadInput, Failed
from rules.calendar import (
    OVERRIDES_ENV,
    CalendarNotCovered,
    OverrideFileError,
    WorkingDayCalendar,
    coverage_warning,
    default_calendar,
    local_date,
    override_paths,
)
from rules.messages import format_due


def show(ctx: Context, *, notice_from: str | None, working_days: int, check: bool, as_json: bool) -> int:
    """Print the calendar's reach; with ``check``, exit 1 when it ends within the warning horizon."""
    try:
        calendar = default_calendar()
    except OverrideFileError as err:
        ctx.warn(f"PD2: the working-day override data is invalid, an operator must fix it: {err}")
        return FAILED
    today = local_date(ctx.clock())
    through = calendar.covered_through(today)
    warning = coverage_warning(through, today)
    notice = notice_end(calendar, notice_from, working_days) if notice_from else None
    overrides = [{"year": o.year, "source": o.source, "file": o.path} for o in sorted(calendar.overrides.values(),
                                                                                       key=lambda o: o.year)]
    if as_json:
        ctx.print(json.dumps({"today": str(today), "covered_years": calendar.coverage(),
                              "covered_through": str(through), "days_left": (through - today).days,
                              "warning": warning, "override_files": [str(p) for p in override_paths()],
                              "overrides": overrides, "notice_ends": notice}, ensure_ascii=False, indent=2))
    else:
        ctx.print("Working-day calendar (PD2) as this machine reads it")
        ctx.print(f"  years covered:   {calendar.coverage()}")
        ctx.print(f"  covered through: {through} ({(through - today).days} days from {today})")
        ctx.print(f"  override files:  {', '.join(str(p) for p in override_paths())}"
                  f"{'' if len(override_paths()) > 1 else f' ({OVERRIDES_ENV} not set)'}")
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
