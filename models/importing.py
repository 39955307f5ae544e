"""Bringing in a center designated before the service existed (INTERFACE.md, "Bringing in existing
centers"): one audited action, validated like every other, citing its source document."""

from __future__ import annotations

from datetime import date
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from models.actor import Action
from models.operating import Grade
from models.profile import CenterProfile
from models.subsidy import PositiveYuan, Yuan
from models.text import Name, Reference

EARLIEST = date(2000, 1, 1)  # no record older than this is imported (the ledger's years start in 2000)


class ImportedAdvance(BaseModel):
    """S1, S2: a subsidy year already paid in advance (and, if assessed, its amount due)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    year: int = Field(ge=2000, le=2999, description="The subsidy year")
    amount_yuan: PositiveYuan = Field(description="The advance paid for that year")
    granted_on: date = Field(description="The day it was paid (S3 runs from the first one, PD5)")
    payment_ref: Reference
    amount_due_yuan: Yuan | None = Field(None, description="S2: the assessed amount due, once settled")
    assessment_ref: Reference | None = None


class ImportCenter(Action):
    """The bureau brings in an existing center in its current phase, with its past (one audited step)."""

    profile: CenterProfile
    source_ref: Reference = Field(description="The document the imported facts come from (designation file, register)")
    phase: Literal["designated", "rectifying"] = Field(description="Its phase today")
    designated_on: date = Field(description="D7: the day of its designation")
    designation_ref: Reference = Field(description="D7, PD16: number of the designation document")
    name: Name | None = Field(None, description="D7: its official name; 舟山市××产业创新中心 (its field) if omitted")
    grades: dict[int, Grade] = Field(default_factory=dict, max_length=50,
                                     description="M1: grade of each evaluated year so far")
    reports: dict[int, Reference] = Field(default_factory=dict, max_length=50,
                                          description="M7: reference of the report on each evaluated year")
    rectification_started_on: date | None = Field(
        None, description="M2, PD4: for phase rectifying, the day the unqualified grade was recorded")
    advances: list[ImportedAdvance] = Field(default_factory=list, max_length=10, description="S1: the subsidy years")

    @field_validator("grades", "reports", mode="before")
    @classmethod
    def _year_keys(cls, value: object) -> object:
        """Years as written: "2025" (or 2025), nothing that merely converts ("+2025", " 2025"), never twice."""
        if not isinstance(value, dict):
            return value
        years = [str(k) for k in value]
        bad = [k for k in years if not (len(k) == 4 and k.isascii() and k.isdigit())]
        if bad:
            raise ValueError(f"a year is four digits, not {bad[0]!r}")
        if len(set(years)) != len(years):
            raise ValueError("a year is given twice")
        return value
