"""CenterState: the whole truth of one center (DESIGN.md, "One state, one pipeline")."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

from models.designation import Application, CityEvaluation, CountyReview, Designation, Notice, Objection
from models.directory import Role
from models.effects import Ban, OutcomeBatch
from models.importing import ImportCenter
from models.operating import OperatingRecord
from models.phase import ENDED, Phase
from models.policy import Policy
from models.offices import Offices
from models.profile import CenterProfile
from models.subsidy import SubsidyRecord


class Deadline(BaseModel):
    """An open deadline on the agenda: absolute due time, rule, and who must act."""

    id: str = Field(description="Unique within the center, stable: reminders and effects key on it")
    kind: str = Field(description="Which due-handler runs when it falls due")
    rule_id: str
    due_at: datetime = Field(description="UTC; PD1: 24:00 Asia/Shanghai of the due day")
    created_at: datetime
    who_acts: Role
    title_zh: str
    title_en: str
    ref: str | None = Field(default=None, description="What it is about: a year, a change id, an objection id")
    reminders_sent: list[int] = Field(default_factory=list, description="PD9: days-before already reminded")
    overdue: bool = Field(False, description="Passed its due time without being met; stays visible until met")
    reminders: bool = Field(True, description="PD9: remind who acts before it; off for automatic ends")
    outlives_end: bool = Field(False, description="Stays open after the lifecycle ends (e.g. a clawback owed)")
    internal: bool = Field(
        False, description="A timer only (the yearly M1 marker): nobody acts; left out of NextDeadline and deadline lists"
    )
    # PD10 (rules/periods.py): a period's end moves over rest days, which needs the end year's calendar.
    provisional: bool = Field(
        False, description="PD10: the legal end is not settled yet (working-day data of its year not known): "
                           "due_at is the nominal end, or the next re-check while the deadline is held"
    )
    nominal_due_at: datetime | None = Field(
        default=None, description="PD10: 24:00 of the period's nominal last day, when it differs from due_at or is provisional"
    )
    held_since: datetime | None = Field(
        default=None, description="PD10: fell due with the calendar data still missing; it waits, never fires on a guess"
    )


class ActionResult(BaseModel):
    """What an accepted action answers; a repeated request_id gets the first answer again."""

    request_id: str
    action: str
    at: datetime
    phase: Phase
    summary: str
    revision: int | None = Field(default=None, description="The state's revision right after the action")
    duplicate: bool = False
    state: CenterState | None = Field(
        default=None,
        description="Filled only by lifecycles started before the due-before-actions patch; query `state` instead",
    )


class Rejection(BaseModel):
    """An action that was refused, with why (kept for signals; updates are refused at the door)."""

    at: datetime
    action: str
    request_id: str | None
    actor: str | None
    via: Literal["signal", "update"]
    rule_id: str
    field: str
    message: str


class RecordFailure(BaseModel):
    """A step whose record PostgreSQL refused for good (a data or integrity error): the lifecycle
    went on, and staff are shown what is missing from the audit log."""

    at: datetime
    summary: str = Field(max_length=300)
    error: str = Field(max_length=500)


class CenterState(BaseModel):
    profile: CenterProfile
    policy: Policy
    offices: Offices
    phase: Phase = Phase.PREPARING
    revision: int = Field(0, description="Bumped by every accepted action and automatic transition")
    opened_at: datetime
    agenda: list[Deadline] = Field(default_factory=list)

    application: Application | None = None
    county_review: CountyReview | None = None
    city_evaluation: CityEvaluation | None = None
    notice: Notice | None = None
    objections: list[Objection] = Field(default_factory=list)
    designation: Designation | None = None

    operating: OperatingRecord = Field(default_factory=OperatingRecord)
    subsidy: SubsidyRecord = Field(default_factory=SubsidyRecord)

    bans: list[Ban] = Field(default_factory=list, description="PD7: bans this lifecycle imposed")
    answered: dict[str, ActionResult] = Field(default_factory=dict, description="request_id -> first result")
    noted_refusals: list[str] = Field(
        default_factory=list, max_length=500,
        description="action:request_id of the validator refusals already audited (refusal_noted), newest last",
    )
    rejected: list[Rejection] = Field(default_factory=list, description="Most recent refusals, newest last")
    ended_at: datetime | None = None
    end_reason: str | None = None
    seq: int = Field(0, description="Counter for ids of objections, changes and ledger entries")
    rule_book_pd11: bool = Field(
        True, description="PD11-PD17 apply to this run; False only on a run begun before the patch "
                          "pd1x-rule-book-pd11-pd17 (workflows/lifecycle.py, docs/rollout.md)",
    )
    chain_id: str | None = Field(
        None, description="Run id of the lifecycle's first run: makes every idempotency key unique per lifecycle"
    )
    record_failures: list[RecordFailure] = Field(
        default_factory=list, description="Steps PostgreSQL refused to record (newest last, bounded)"
    )

    @property
    def ended(self) -> bool:
        return self.phase in ENDED

    @property
    def center_id(self) -> str:
        return self.profile.center_id

    @property
    def lifecycle_key(self) -> str:
        """Prefix of every idempotency key: a center may start a new lifecycle after one ended,
        and the new one's rows must not collide with the old one's."""
        if self.chain_id:
            return f"{self.center_id}:{self.chain_id}"
        return f"{self.center_id}:{self.opened_at.timestamp():.0f}"  # lifecycles opened before chain_id

    @property
    def last_grade(self) -> str | None:
        """M1: the grade of the latest evaluated year (the LastGrade search attribute)."""
        grades = self.operating.grades
        return grades[max(grades)] if grades else None

    @property
    def display_name(self) -> str:
        return self.designation.name if self.designation else self.profile.proposed_name

    def open_deadlines(self) -> list[Deadline]:
        return sorted((d for d in self.agenda if not d.overdue), key=lambda d: d.due_at)

    def next_staff_deadline(self, hide_internal: bool = True) -> Deadline | None:
        """The earliest open deadline somebody must meet (the NextDeadline search attribute)."""
        return next((d for d in self.open_deadlines() if not (hide_internal and d.internal)), None)

    def overdue_deadlines(self) -> list[Deadline]:
        """M5: deadlines passed unmet, oldest first (they stay on the agenda until met)."""
        return sorted((d for d in self.agenda if d.overdue), key=lambda d: d.due_at)

    def deadline(self, deadline_id: str) -> Deadline | None:
        return next((d for d in self.agenda if d.id == deadline_id), None)


class LifecycleInput(BaseModel):
    """Workflow input: the profile and the policy in force (PD8); ``state`` when continued-as-new."""

    profile: CenterProfile
    policy: Policy
    offices: Offices
    state: CenterState | None = None
    imported: ImportCenter | None = Field(
        default=None, description="Bringing in an existing center: the lifecycle opens with its past (rules/importing.py)"
    )
    unrecorded: list[OutcomeBatch] = Field(
        default_factory=list, description="Steps decided but not yet recorded (PostgreSQL was down): recorded first"
    )


ActionResult.model_rebuild()
