"""Records of the designation procedure (D3-D7)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field


class Application(BaseModel):
    """D3, D4: the accepted application (its checklist is kept in the audit log)."""

    submitted_at: datetime
    submitted_by: str
    commitment_letter_ref: str = Field(description="D4: reference of the integrity commitment letter")
    lead_unit_kind: str | None = Field(default=None, description="D3 (1): the kind declared; 'other' needs a PD17 exception")
    construction_plan_ref: str | None = Field(default=None, description="PD17, M7: reference of the construction plan")


class CountyReview(BaseModel):
    """D5: the county department's findings and recommendation."""

    at: datetime
    reviewer: str
    recommend: bool
    reasons: str


class CityEvaluation(BaseModel):
    """D6: the expert panel's or third party's comprehensive review."""

    at: datetime
    on: date = Field(description="Date of the review report")
    evaluator: str
    score: float
    propose: bool
    opinion: str
    lead_unit_exception: str | None = Field(
        default=None, description="PD17: the bureau's recorded exception admitting a lead unit of another kind"
    )


class Notice(BaseModel):
    """D7, PD2: the 5-working-day public notice."""

    published_on: date
    ends_at: datetime = Field(description="24:00 Asia/Shanghai of the 5th working day, as UTC")
    reference: str
    ended: bool = False
    automatic_designation: bool = Field(
        True, description="PD16: False = the bureau issues the designation document (issue_designation); True only "
                          "for a notice published before PD16, which designates by itself when it ends (patch)",
    )


class Objection(BaseModel):
    """D7: an objection filed during the notice; the bureau verifies and handles it."""

    id: str
    filed_at: datetime
    objector: str
    grounds: str
    status: Literal["open", "upheld", "dismissed"] = "open"
    finding: str | None = None
    resolved_at: datetime | None = None


class Designation(BaseModel):
    """D7, PD16: the designation document and the center's official name."""

    on: date = Field(description="PD16: the date of the designation document")
    name: str = Field(description="D7, PD16: 舟山市××产业创新中心")
    document_ref: str | None = Field(default=None, description="PD16: the document number (None before PD16)")
    issued_by: str | None = None
