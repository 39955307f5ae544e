"""Payloads of the operating-life actions (M1-M4, M7, PD3, PD4). Public API: see docs/actions.md."""

from __future__ import annotations

from pydantic import Field

from models.actor import Action
from models.operating import ChangeKind, Grade, RevocationGround
from models.strict import Day, Flag, Year
from models.text import Identifier, Name, Reference, Statement


class SubmitAnnualReport(Action):
    """M7: the implementing entity's report on an evaluated year."""

    year: Year = Field(description="The evaluated year the report covers")
    report_ref: Reference


class RecordAnnualEvaluation(Action):
    """M1: the city bureau records the third party's grade of a year."""

    year: Year = Field(description="The evaluated year")
    grade: Grade = Field(description="M1: 优秀 excellent, 良好 good, 合格 qualified, 不合格 unqualified")
    evaluator: Name = Field(description="The third party that evaluated")
    report_ref: Reference = Field(description="The evaluator's report")


class RecordRectificationResult(Action):
    """M2, PD4: the result of the rectification."""

    passed: Flag
    report_ref: Reference
    finding: Statement


class ReportMajorChange(Action):
    """M3, PD3: a split, merger, restructuring or change of business, and the day it happened."""

    kind: ChangeKind
    happened_on: Day
    description: Statement


class RecordMajorChangeReview(Action):
    """M3: still eligible (designation stands) or not (cancelled from the year of the change)."""

    change_id: Identifier
    still_eligible: Flag
    finding: Statement


class Revoke(Action):
    """M4, PD7: revoke the designation on one of the four grounds."""

    ground: RevocationGround
    evidence: Statement
