"""Records of the operating life (M1-M4, M7). Rules in rules/operating.py."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, Field


class Grade(StrEnum):
    """M1: the four yearly grades."""

    # The value is the Chinese grade as the evaluator writes it; the member name is its English name.
    # (The docstring feeds the JSON Schema in docs/actions.md: changing it means regenerating that.)
    EXCELLENT = "优秀"  # excellent
    GOOD = "良好"  # good
    QUALIFIED = "合格"  # qualified
    UNQUALIFIED = "不合格"  # unqualified: M2 rectification, or M4 (4) revocation if the year before was too


class ChangeKind(StrEnum):
    """M3: the major changes that must be reported."""

    SPLIT = "split"
    MERGER = "merger"
    RESTRUCTURING = "restructuring"
    BUSINESS_CHANGE = "business_change"


class RevocationGround(StrEnum):
    """M4: the four grounds of revocation."""

    APPLICATION_FRAUD = "application_fraud"  # (1) serious fraud in the application
    SAFETY_QUALITY_ENVIRONMENT = "safety_quality_environment"  # (2) major accident or environmental violation
    RESEARCH_MISCONDUCT = "research_misconduct"  # (3) serious research misconduct
    UNQUALIFIED_TWO_YEARS = "unqualified_two_years"  # (4) unqualified two years in a row


class YearRecord(BaseModel):
    """M7 report and M1 evaluation of one evaluated year."""

    year: int
    report_ref: str | None = None
    report_at: datetime | None = None
    report_late: bool = False
    grade: Grade | None = None
    graded_at: datetime | None = None
    evaluator: str | None = None
    evaluation_ref: str | None = None


class Rectification(BaseModel):
    """M2, PD4: one year from the day the unqualified grade was recorded."""

    grade_year: int
    started_on: date
    due_at: datetime
    result: Literal["passed", "failed", "lapsed", "superseded"] | None = Field(
        default=None,
        description="None while it runs; superseded = the lifecycle ended otherwise first (M4 revocation, M3)",
    )
    finding: str | None = None


class MajorChange(BaseModel):
    """M3, PD3: a reported major change and its review."""

    id: str
    kind: ChangeKind
    happened_on: date
    description: str
    reported_at: datetime
    reported_by: str
    window_ends_at: datetime = Field(
        description="PD3, PD10: 24:00 of the window's last day: the day 3 calendar months after it happened, "
                    "or the next working day if that is a rest day"
    )
    window_nominal_ends_at: datetime | None = Field(
        default=None, description="PD10: 24:00 of the nominal last day, when it is a rest day (or not yet known)"
    )
    window_provisional: bool = Field(
        False, description="PD10: the calendar of the window's end year was missing at the report; nominal end shown"
    )
    late: bool = Field(description="Reported after the window closed (still taken, M3)")
    status: Literal["open", "kept", "cancelled"] = "open"
    finding: str | None = None


class Revocation(BaseModel):
    """M4: why and when the designation was revoked."""

    ground: RevocationGround
    evidence: str
    at: datetime


class OperatingRecord(BaseModel):
    """Everything the yearly cycle, rectification, major changes and revocation keep."""

    grades: dict[int, str] = Field(default_factory=dict, description="M1: grade by evaluated year")
    years: dict[int, YearRecord] = Field(default_factory=dict, description="M1, M7 by evaluated year")
    rectifications: list[Rectification] = Field(default_factory=list, description="M2: newest last")
    major_changes: list[MajorChange] = Field(default_factory=list)
    revocation: Revocation | None = None
    cancelled_from: date | None = Field(default=None, description="M3: cancellation takes effect from this day")
