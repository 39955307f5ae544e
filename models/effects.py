"""Effects: what a rule decision asks the outside world to do.

Pure rule code returns these; the workflow hands them to activities. Every effect carries an
idempotency ``key`` derived from the workflow (center id + request id, or deadline id + offset), so
an activity retry never writes or sends twice (INTERFACE.md, "Writes are idempotent").
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from models.subsidy import LedgerEntry

Outcome = Literal["accepted", "rejected", "automatic"]


class AuditEntry(BaseModel):
    """One row of the append-only audit log: who did what, when, under which rule."""

    key: str = Field(description="Idempotency key, unique across the log")
    center_id: str
    at: datetime = Field(description="Workflow time of the event (UTC)")
    action: str = Field(description="Action name, or the automatic transition's name")
    outcome: Outcome
    actor_name: str | None = None
    actor_role: str | None = None
    actor_county: str | None = None
    request_id: str | None = None
    rule_ids: list[str] = Field(default_factory=list)
    phase_before: str | None = None
    phase_after: str | None = None
    summary: str = Field(description="One line a clerk can read")
    detail: dict[str, Any] = Field(default_factory=dict)


class Email(BaseModel):
    """A message for the notification outbox; sent once even across retries and crashes."""

    key: str = Field(description="Idempotency key; also the basis of the deterministic Message-ID")
    center_id: str
    to: list[str] = Field(min_length=1)
    subject: str
    body: str = Field(description="Plain text, Chinese first, English below")
    rule_id: str | None = None


class CenterSnapshot(BaseModel):
    """The one row per center kept for reports (upserted, newest revision wins)."""

    center_id: str
    opened_at: datetime = Field(description="When this lifecycle opened; a newer lifecycle replaces an older one's row")
    revision: int = Field(description="Monotonic per lifecycle; an older snapshot never overwrites a newer one")
    name: str
    county: str
    field: str
    route: str
    phase: str
    credit_code: str
    lead_unit: str
    designated_on: date | None = None
    last_grade: str | None = None
    next_deadline_at: datetime | None = None
    overdue_count: int = Field(0, description="M5: deadlines passed unmet")
    oldest_overdue_at: datetime | None = Field(None, description="M5: due time of the oldest overdue deadline")
    updated_at: datetime


class Ban(BaseModel):
    """PD7: a bar on applying, kept in the bans registry."""

    key: str
    center_id: str = Field(description="The center whose delisting or revocation caused the ban")
    subject_kind: Literal["implementing_entity", "lead_unit"]
    credit_code: str = Field(description="Unified social credit code of the barred body")
    subject_name: str
    scope: Literal["any", "same_type"] = Field(
        description="PD7: delisting bars any center ('any'); revocation bars the same type ('same_type')"
    )
    field: str | None = Field(default=None, description="The center type (D2 field) for scope 'same_type'")
    rule_id: str = Field(description="M2 (delisting) or M4 (revocation)")
    starts_on: date
    ends_on: date = Field(description="PD10: last day of the ban (inclusive): the legal one, or the nominal one while provisional")
    reason: str
    nominal_ends_on: date | None = Field(
        default=None, description="PD10: the nominal last day (the corresponding day, 2 years on) when it differs or is provisional"
    )
    provisional: bool = Field(
        False, description="PD10: the legal last day needs calendar data not yet known; the registry settles it when read"
    )


class BanQuery(BaseModel):
    """PD7: which bans stop this application on this day."""

    implementing_entity_code: str
    lead_unit_code: str
    field: str
    on: date


class OutcomeBatch(BaseModel):
    """Everything one step of the lifecycle records, written in one transaction."""

    center_id: str
    audits: list[AuditEntry] = Field(default_factory=list)
    emails: list[Email] = Field(default_factory=list)
    bans: list[Ban] = Field(default_factory=list)
    ledger: list[LedgerEntry] = Field(default_factory=list)
    snapshot: CenterSnapshot | None = None
