"""What the Temporal Web UI shows a clerk: search attributes and current details (DESIGN.md)."""

from __future__ import annotations

from temporalio.common import SearchAttributePair, TypedSearchAttributes

from models import search_attributes as sa
from models.state import CenterState
from rules.messages import format_due, period_note


def search_attributes(state: CenterState, hide_internal: bool = True) -> list[SearchAttributePair]:
    """INTERFACE.md: CenterPhase, CenterCounty, CenterField, LastGrade, EntityCreditCode, NextDeadline.

    NextDeadline is the earliest deadline somebody must meet; ``hide_internal`` False keeps the
    yearly marker in it, as runs started before the marker was flagged did (lifecycle.py's patch).
    """
    pairs = [
        SearchAttributePair(sa.CENTER_PHASE, state.phase.value),
        SearchAttributePair(sa.CENTER_COUNTY, state.profile.county.value),
        SearchAttributePair(sa.CENTER_FIELD, state.profile.field.value),
        SearchAttributePair(sa.ENTITY_CREDIT_CODE, state.profile.implementing_entity.credit_code),
    ]
    if state.operating.grades:
        pairs.append(SearchAttributePair(sa.LAST_GRADE, state.operating.grades[max(state.operating.grades)]))
    upcoming = state.next_staff_deadline(hide_internal)
    if upcoming:
        pairs.append(SearchAttributePair(sa.NEXT_DEADLINE, upcoming.due_at))
    return pairs


def initial_search_attributes(state: CenterState) -> TypedSearchAttributes:
    return TypedSearchAttributes(search_attributes(state))


def static_summary(state: CenterState) -> str:
    return f"{state.display_name} · {state.profile.county.value} · {state.profile.field.value}"


def current_details(state: CenterState) -> str:
    """A short markdown table of the phase and every open deadline, with due date, rule and who acts."""
    lines = [
        f"**{state.display_name}** — phase `{state.phase.value}`",
        "",
        "| deadline | due | rule | who acts | status |",
        "|---|---|---|---|---|",
    ]
    for d in sorted(state.agenda, key=lambda d: d.due_at):
        status = "OVERDUE" if d.overdue else "automatic" if d.internal else "open"
        if d.held_since is not None:  # PD10: its end cannot be settled yet; due_at is the next re-check
            status = "HELD (calendar data missing)"
        who = "-" if d.internal else d.who_acts.value
        due = format_due(d.nominal_due_at if d.held_since and d.nominal_due_at else d.due_at) + period_note(d)[1]
        lines.append(f"| {d.title_en} / {d.title_zh} | {due} | {d.rule_id} | {who} | {status} |")
    if not state.agenda:
        lines.append("| (none) | | | | |")
    return "\n".join(lines)
