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


OURS = frozenset(k.name for k in (sa.CENTER_PHASE, sa.CENTER_COUNTY, sa.CENTER_FIELD, sa.ENTITY_CREDIT_CODE,
                                    sa.LAST_GRADE, sa.NEXT_DEADLINE))


def changes(before: list[SearchAttributePair], after: list[SearchAttributePair]) -> list:
    """The upserts that turn ``before`` (what the server holds) into ``after``: set what changed,
    unset what is gone. Compared by key, so the order of the pairs does not matter."""
    old = {p.key.name: p for p in before}
    new = {p.key.name: p for p in after}
    updates = [p.key.value_set(p.value) for name, p in new.items() if name not in old or old[name].value != p.value]
    updates += [p.key.value_unset() for name, p in old.items() if name not in new]
    return updates


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
    if state.record_failures:
        lines += ["", "**Not recorded (PostgreSQL refused) / 未能写入数据库:**"]
        lines += [f"- {format_due(f.at)}: {f.summary} — {f.error}" for f in state.record_failures[-5:]]
    return "\n".join(lines)
