"""Requests to the working-day calendar activity (D7, PD2)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, Field


class NoticeEndRequest(BaseModel):
    """D7, PD2: when does a public notice of ``working_days`` working days, published on a day, end?"""

    published_on: date = Field(
        description="D7, PD1: Asia/Shanghai date the list is published; counting starts here if a working day (PD2)"
    )
    working_days: int = Field(ge=1, description="D7, PD2: length of the notice in working days (5 in the rule book)")


class PeriodEndsRequest(BaseModel):
    """PD10: the legal last days of periods whose nominal last days are these."""

    nominal: list[date] = Field(description="PD10: nominal last days (the corresponding day of the last month)")


class SettledPeriod(BaseModel):
    nominal: date
    last_day: date = Field(description="PD10: the nominal day, or the next working day if it is a rest day (PD2)")


class PeriodEndsAnswer(BaseModel):
    """PD10: what the calendar data says today; a nominal day not in ``settled`` stays provisional."""

    settled: list[SettledPeriod] = Field(default_factory=list)
    missing_years: list[int] = Field(default_factory=list, description="PD2: years whose working-day data is missing")
    problem: str | None = Field(default=None, description="PD2: the override data is invalid (a person must fix it)")

    def last_day(self, nominal: date) -> date | None:
        return next((s.last_day for s in self.settled if s.nominal == nominal), None)


class CalendarUpdate(BaseModel):
    """PD10: the ``calendar_updated`` signal: the working-day data now covers these years."""

    years: list[int] = Field(default_factory=list, description="Covered years; empty: re-check every provisional end")
