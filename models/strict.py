"""Field types that take only what the published JSON Schema says (docs/actions.md).

Pydantic's lax mode turns ``true`` into ``1.0``, ``"yes"`` into ``True`` and ``0`` into 1970-01-01;
a staff action is a record of a decision, so each of these is refused at the door instead.
"""

from __future__ import annotations

import re
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field, StrictBool, WithJsonSchema

# Dates of this service: the guideline is of 2025, so 2000 is well before any center, and 2099 far
# enough ahead for the longest ban or rectification; 0001-01-01 and 9999-12-31 are typing slips.
FIRST_DAY = date(2000, 1, 1)
LAST_DAY = date(2099, 12, 31)
ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", re.ASCII)


def _iso_day_only(value: Any) -> Any:
    """A date is "YYYY-MM-DD" (or a date): not a timestamp, a datetime or a bool."""
    if isinstance(value, date) or (isinstance(value, str) and ISO_DAY.fullmatch(value)):
        return value
    raise ValueError('give the date as "YYYY-MM-DD"')


def _in_range(value: date) -> date:
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"the date must be between {FIRST_DAY} and {LAST_DAY}")
    return value


Day = Annotated[
    date, BeforeValidator(_iso_day_only), AfterValidator(_in_range),
    WithJsonSchema({"type": "string", "format": "date", "formatMinimum": str(FIRST_DAY), "formatMaximum": str(LAST_DAY)}),
]
"""A calendar day, "YYYY-MM-DD", between 2000-01-01 and 2099-12-31."""


def _number_not_bool(value: Any) -> Any:
    """JSON true is not 1: a number must be given as a number."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("give a number")
    return value


Score = Annotated[float, BeforeValidator(_number_not_bool), Field(ge=0, le=100, allow_inf_nan=False)]
"""A score from 0 to 100, a JSON number (not a string, not a boolean)."""


def _int_not_bool(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError("give a whole number")
    return value


Year = Annotated[int, BeforeValidator(_int_not_bool), Field(ge=2000, le=2099)]
"""A calendar year, a JSON integer between 2000 and 2099."""

Flag = StrictBool
"""JSON true or false only (not "yes", not 1)."""
