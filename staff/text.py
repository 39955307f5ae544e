"""Text both front ends show: due times as Asia/Shanghai wall time (PD1), counties and fields in both languages."""

from __future__ import annotations

from datetime import datetime, timedelta

from models.directory import COUNTY_NAMES_ZH, FIELD_NAMES_ZH, County, Field
from models.state import Deadline
from rules.calendar import SHANGHAI


def due_text(at: datetime) -> str:
    """PD1: a due time in Asia/Shanghai; the end of day X reads 'X 24:00' (not 'X+1 00:00')."""
    local = at.astimezone(SHANGHAI)
    if (local.hour, local.minute, local.second, local.microsecond) == (0, 0, 0, 0):
        return f"{(local - timedelta(days=1)).date().isoformat()} 24:00"
    return f"{local:%Y-%m-%d %H:%M}"


def local_text(at: datetime | None) -> str | None:
    """An instant as Asia/Shanghai wall time (PD1), minutes precision."""
    return None if at is None else f"{at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"


def county_text(county: str) -> str:
    try:
        return f"{county} ({COUNTY_NAMES_ZH[County(county)]})"
    except ValueError:
        return county


def field_text(field: str, name_zh: str | None = None) -> str:
    try:
        zh = name_zh or FIELD_NAMES_ZH.get(Field(field))
    except ValueError:
        zh = name_zh
    return f"{field} ({zh})" if zh else field


def deadline_status(deadline: Deadline, now: datetime) -> str:
    if deadline.held_since is not None:  # PD10: fell due while its year's calendar data is missing
        return "HELD: calendar data missing"
    if deadline.overdue or deadline.due_at <= now:
        return "OVERDUE"
    days = (deadline.due_at - now) / timedelta(days=1)
    return "due today" if days < 1 else f"in {int(days)} d"
