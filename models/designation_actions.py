"""Payloads of the designation actions (D3-D7, PD7). Public API: see docs/actions.md."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from models.actor import Action
from models.profile import CreditCode
from models.strict import Day, Flag, Score
from models.text import Identifier, Line, Name, Note, Paragraph, Reference, Statement

MAX_MATERIALS = 50
MAX_PARTNER_AGREEMENTS = 50


class Evidence(BaseModel):
    """One condition: met or not, and the material that shows it."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    met: Flag
    evidence: Note = Field(description="Document reference or short description")


class LeadUnitKind(StrEnum):
    """D3 (1): admissible lead units, and 'other' which is not admissible."""

    CITY_GOVERNMENT = "city_government"
    COUNTY_GOVERNMENT = "county_government"
    COUNTY_GOVERNMENT_JOINT = "county_government_joint"  # with city departments, universities, institutes, firms
    OTHER = "other"


class InnovationFunctions(BaseModel):
    """D3 (3): each innovation function, plus stable funding and R&D spending."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    rd_and_product_development: Evidence
    proof_of_concept: Evidence
    pilot_testing: Evidence
    transfer_and_commercialization: Evidence
    venture_investment_and_incubation: Evidence
    ip_management_and_operation: Evidence
    stable_funding_and_rd_spending: Evidence


class Compliance(BaseModel):
    """D3 (5): compliance, and no serious illegal or dishonest conduct in the last three years."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    environmental_fire_and_work_safety: Evidence
    secrecy_integrity_and_ethics: Evidence
    no_serious_violation_last_3_years: Evidence


class Checklist(BaseModel):
    """D3: the five eligibility conditions, all required."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    lead_unit_kind: LeadUnitKind = Field(description="D3 (1)")
    independent_legal_person: Evidence = Field(description="D3 (2): independent legal person, sound organization")
    innovation_functions: InnovationFunctions = Field(description="D3 (3)")
    resource_integration: Evidence = Field(description="D3 (4): integrates the industry's innovation resources")
    compliance: Compliance = Field(description="D3 (5)")


class IntegrityCommitment(BaseModel):
    """D4: the lead unit's integrity commitment letter (诚信承诺书)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    signed_by: Name = Field(description="The lead unit that signs it")
    signed_on: Day
    document_ref: Reference


class SubmitApplication(Action):
    """D3, D4, PD7, PD17: the implementing entity applies to its county department."""

    checklist: Checklist
    commitment_letter: IntegrityCommitment | None = Field(
        description="D4, PD17: mandatory; signed by the lead unit, dated no later than the application"
    )
    construction_plan: Reference | None = Field(
        default=None, description="PD17, M7: reference of the construction plan (建设方案); required",
    )
    materials: list[Reference] = Field(default_factory=list, max_length=MAX_MATERIALS, description="D4: references of the application materials")
    partner_agreements: dict[CreditCode, Reference] = Field(
        default_factory=dict, max_length=MAX_PARTNER_AGREEMENTS, description="M6: partner credit code -> reference of the signed cooperation agreement"
    )


class Finding(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    ok: Flag
    note: Note


class RecordCountyReview(Action):
    """D5: the county department's review and recommendation."""

    operating_status: Finding
    credit: Finding
    materials_authentic: Finding
    recommend: Flag
    reasons: Statement


class RecordCityEvaluation(Action):
    """D6: the result of the experts' or third party's comprehensive review."""

    evaluator_kind: Literal["expert_panel", "third_party"]
    evaluator: Name
    score: Score
    opinion: Statement
    propose: Flag = Field(description="Propose for designation (on the list) or reject")
    report_ref: Reference
    evaluated_on: Day | None = Field(default=None, description="Date of the review report; today if omitted")
    lead_unit_exception: Note | None = Field(
        default=None,
        description="PD17, D3 (1): the bureau's exception admitting a lead unit of another kind (原则上); "
                    "required to propose such a center",
    )


class PublishNotice(Action):
    """D7, PD2: the bureau publishes the proposed designation for the policy's number of working days."""

    published_on: Day | None = Field(None, description="D7: the day the notice is published; today if omitted")
    reference: Reference = Field(description="Where it is published, document number")
    recorded_late: Note | None = Field(
        None, description="D7: why a notice that has already ended is recorded only now (required then); "
                          "the audit log and the notice's email carry it")


class FileObjection(Action):
    """D7: an objection during the notice."""

    objector: Name
    contact: Line(200)
    grounds: Paragraph(2000)
    received_on: Day | None = Field(
        None, description="D7: for an objection the city bureau received offline, the day it arrived (within the "
                          "notice); it may be entered after the notice ended, until the designation is issued")


class ResolveObjection(Action):
    """D7: the bureau's verification of an objection."""

    objection_id: Identifier
    outcome: Literal["upheld", "dismissed"]
    finding: Statement


class Withdraw(Action):
    """The implementing entity withdraws before designation."""

    reason: Note


NAME_PREFIX = "舟山市"
NAME_SUFFIX = "产业创新中心"


class IssueDesignation(Action):
    """D7, PD16: the city bureau issues the designation document after a notice with no open objection."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "actor": {"name": "赵强", "role": "city_bureau", "county": None}, "request_id": "designate-zs-new-materials-01",
        "document_number": "舟科发〔2026〕18号", "issued_on": "2026-05-26", "name_xx": "新材料",
    }]})

    document_number: Reference = Field(description="PD16: number of the designation document")
    issued_on: Day = Field(description="PD16: date of the document: after the notice ended, not in the future")
    name_xx: Line(40) | None = Field(
        default=None,
        description="PD16: the ×× of 舟山市××产业创新中心; the field's Chinese name if omitted; must give a name "
                    "no live center already has",
    )


class NameQuery(BaseModel):
    """Argument of ``find_live_centers_named`` (PD16)."""

    center_id: str
    name: str
