"""The policy in force (PD8): every duration, date and amount of the rule book, as dated data.

A center's policy is frozen into its workflow input when its lifecycle starts, so a revised
guideline applies to new centers without changing running ones (PD8). Each field cites the rule
in ``../shared/RULES.md`` that sets it; fields marked "product decision" are ours where the texts
are silent, and are listed in docs/decisions.md.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class MonthDay(BaseModel):
    """A day of the year (month, day), e.g. the yearly due date of a report."""

    model_config = ConfigDict(frozen=True)
    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)

    @model_validator(mode="after")
    def _exists_every_year(self) -> MonthDay:
        """A yearly due day must exist in every year: 29 February or 31 April would fail the
        workflow the first time a year opens with it, so they are refused here."""
        try:
            date(2001, self.month, self.day)  # 2001: not a leap year
        except ValueError:
            raise ValueError(f"{self.month:02d}-{self.day:02d} is not a day of every year") from None
        return self


class Policy(BaseModel):
    """PD8: the numbers of one guideline version, fixed for a center at the start of its lifecycle."""

    model_config = ConfigDict(frozen=True)

    version: str = Field(description="PD8: identifier of this policy version")
    effective_from: date = Field(description="PD8: the day the guideline took effect")
    source: str = Field(description="PD8: the text that sets these numbers")

    notice_working_days: int = Field(5, ge=1, description="D7, PD2: length of the public notice in working days")
    yearly_city_cap_yuan: Decimal = Field(
        Decimal("3000000.00"), gt=0, description="S1, PD6: city S&T funds for centers per calendar year, yuan"
    )
    max_subsidy_years: int = Field(3, ge=1, description="S1: a single center is subsidized for at most this many years")
    designation_deadline_years: int = Field(
        2, ge=1, description="S3, PD5: years from the first subsidy within which the center must be designated"
    )
    clawback_due_days: int = Field(
        90, ge=1, description="S2, S3 (product decision): days a center has to repay a clawback"
    )
    rectification_years: int = Field(1, ge=1, description="M2, PD4: length of the rectification period")
    delisting_ban_years: int = Field(2, ge=1, description="M2, PD7: delisted entity may not apply for this many years")
    revocation_ban_years: int = Field(
        2, ge=1, description="M4, PD7: lead unit may not apply for the same type for this many years"
    )
    revocation_unqualified_streak: int = Field(
        2, ge=2, description="M4 (4): consecutive unqualified yearly grades that revoke the designation"
    )
    major_change_report_months: int = Field(
        3, ge=1, description="M3, PD3: calendar months to report a major change, from the day it happened"
    )
    annual_report_due: MonthDay = Field(
        MonthDay(month=3, day=31),
        description="M7 (product decision): the report on year Y is due on this day of year Y+1",
    )
    first_year_cutoff: MonthDay = Field(
        MonthDay(month=6, day=30),
        description="M1 (product decision): a center designated by this day is evaluated on its designation year;"
                    " one designated later is first evaluated on the next year",
    )
    annual_report_opens: MonthDay = Field(
        MonthDay(month=12, day=1),
        description="M7 (product decision): the report on year Y may be submitted from this day of year Y",
    )
    annual_evaluation_due: MonthDay = Field(
        MonthDay(month=6, day=30),
        description="M1 (product decision): the evaluation of year Y is due on this day of year Y+1",
    )
    compliance_lookback_years: int = Field(
        3, ge=1, description="D3 (5): no serious illegal or dishonest conduct in this many past years"
    )
    reminder_days_before: tuple[int, ...] = Field(
        (30, 7, 1), description="PD9: days before a deadline at which reminders are sent"
    )


GUIDELINE_2025 = Policy(
    version="zs-kjj-2025-10-21",
    effective_from=date(2025, 10, 21),
    source=(
        "舟山市科学技术局 2025-10-21: 《关于加快建设产业创新中心的实施方案》 and "
        "《舟山市产业创新中心建设指引(试行)》 (shared/seed/000_6b2973ab76753ebe.txt)"
    ),
)
"""The default policy: the 2025 guideline (PD8)."""
