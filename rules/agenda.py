"""The agenda: open deadlines, their PD9 reminders, and what happens when they fall due.

Pure: given a state and the time, say what is next and what to do about it. The workflow sleeps
until :func:`next_wakeup` and then applies :func:`due_now` until it returns nothing.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from models.directory import Role
from models.state import CenterState, Deadline
from rules import messages
from rules.engine import DUE_HANDLERS, Decision, settle


def add_deadline(
    state: CenterState,
    *,
    id: str,
    kind: str,
    rule_id: str,
    due_at: datetime,
    now: datetime,
    who_acts: Role,
    title_zh: str,
    title_en: str,
    ref: str | None = None,
    reminders: bool = True,
    outlives_end: bool = False,
    internal: bool = False,
) -> Deadline:
    """Open a deadline (replacing one with the same id)."""
    deadline = Deadline(
        id=id, kind=kind, rule_id=rule_id, due_at=due_at, created_at=now, who_acts=who_acts,
        title_zh=title_zh, title_en=title_en, ref=ref, reminders=reminders, outlives_end=outlives_end,
        internal=internal,
    )
    remove_deadline(state, id)
    state.agenda.append(deadline)
    return deadline


def remove_deadline(state: CenterState, deadline_id: str) -> Deadline | None:
    found = state.deadline(deadline_id)
    state.agenda = [d for d in state.agenda if d.id != deadline_id]
    return found


# PD9: the deadlines whose outcome the city bureau decides or records: the M2 result (PD15), the S3
# lapse and its settlements (PD14), the settlements and clawback repayments (S2, PD13), the
# designation document and open objections (D7, PD16).
BUREAU_RECORDS = frozenset({"M2", "S2", "S3", "PD13", "PD14", "PD15", "PD16"})


def recipients(state: CenterState, role: Role, rule_id: str | None = None) -> list[str]:
    """PD9: who gets reminders and overdue notices for a deadline that ``role`` must meet under
    ``rule_id``; the city bureau also, for every deadline whose outcome it decides or records."""
    if role is Role.IMPLEMENTING_ENTITY:
        people = messages.contacts(state) + messages.county(state)
    elif role is Role.COUNTY_DEPARTMENT:
        people = messages.county(state)
    else:
        return messages.city(state)
    if rule_id in BUREAU_RECORDS and state.rule_book_pd11:
        people += [a for a in messages.city(state) if a not in people]
    return people


def pending_reminders(state: CenterState, deadline: Deadline) -> list[tuple[int, datetime]]:
    """PD9: (days before, when) for reminders not yet sent; none that fell before the deadline opened."""
    if not deadline.reminders or deadline.overdue:
        return []
    out = []
    for days in sorted(state.policy.reminder_days_before, reverse=True):
        at = deadline.due_at - timedelta(days=days)
        if days not in deadline.reminders_sent and at > deadline.created_at:
            out.append((days, at))
    return out


def next_wakeup(state: CenterState) -> tuple[datetime, str] | None:
    """The earliest moment something is due (a reminder or a deadline), with a timer summary."""
    best: tuple[datetime, str] | None = None
    for d in state.open_deadlines():
        candidates = [(at, f"{d.rule_id} reminder {days}d: {d.title_en}") for days, at in pending_reminders(state, d)]
        candidates.append((d.due_at, f"{d.rule_id} {d.title_en}"))
        for at, summary in candidates:
            if best is None or at < best[0]:
                best = (at, summary)
    return best


# Same-instant precedence (issue 9, docs/decisions.md "Deadlines that fall due together"). Periods
# end at 24:00 of their last day (PD1), so deadlines often share an instant; the outcome must not
# depend on the agenda's order. A step that completes a procedure on time counts before a lapse at
# the same instant (the period includes its last moment), the yearly marker opens the year before
# anything is judged in it, overdue notices come next, and lapses with consequences last, the
# harshest last. Kinds not listed come after those listed; ties break on the deadline id.
DUE_PRECEDENCE: dict[str, int] = {
    "notice_end": 10,          # D7: the notice ran its course: designation (PD16: the document is due)
    "operating_year": 20,      # M1: the yearly evaluation cycle opens
    "annual_report": 30,       # M7: overdue notice only
    "annual_evaluation": 31,   # M1: overdue notice only
    "designation_document": 32,  # PD16: overdue notice only (the bureau issues the document)
    "objections_open": 33,     # PD16: overdue notice only (the bureau resolves them)
    "settlement_due": 34,      # PD13: overdue notice only (the bureau settles the year)
    "rectification": 40,       # M2: the period ends (PD15: the bureau records the finding)
    "clawback_due": 50,        # S2/S3: repayment overdue
    "s3_deadline": 60,         # S3: not designated in time: no further subsidy, unused money back
}
UNLISTED = 90


def due_order(deadline: Deadline) -> tuple[datetime, int, str]:
    return deadline.due_at, DUE_PRECEDENCE.get(deadline.kind, UNLISTED), deadline.id


def due_now(state: CenterState, now: datetime, *, ordered: bool = False) -> Decision | None:
    """The one earliest thing due at ``now`` (a reminder or a deadline), decided; None if nothing is.

    ``ordered`` (lifecycles from the due-before-actions patch on): deadlines that share an instant
    run in DUE_PRECEDENCE order, and a reminder that a later reminder or the due time itself has
    overtaken (a late wake-up) is not sent: only the newest reminder still before its due time is.
    """
    if ordered:
        return _due_in_order(state, now)
    wake = next_wakeup(state)
    if wake is None or wake[0] > now:
        return None
    for d in state.open_deadlines():
        for days, at in pending_reminders(state, d):
            if at == wake[0]:
                return remind(state, d, days)
        if d.due_at == wake[0]:
            decision = settle(DUE_HANDLERS[d.kind](state.model_copy(deep=True), d, now), state)
            decision.event = decision.event or f"due:{d.kind}"
            return decision
    return None


def _due_in_order(state: CenterState, now: datetime) -> Decision | None:
    candidates: list[tuple[tuple[datetime, int, str], Deadline, list[int]]] = []
    for d in state.open_deadlines():
        if d.due_at <= now:
            candidates.append((due_order(d), d, []))
            continue
        passed = [days for days, at in pending_reminders(state, d) if at <= now]
        if passed:
            newest = min(passed)
            at = d.due_at - timedelta(days=newest)
            candidates.append(((at, UNLISTED + 1, d.id), d, sorted(passed, reverse=True)))
    if not candidates:
        return None
    _, deadline, reminders = min(candidates, key=lambda c: c[0])
    if reminders:
        return remind(state, deadline, reminders[-1], overtaken=reminders[:-1])
    decision = settle(DUE_HANDLERS[deadline.kind](state.model_copy(deep=True), deadline, now), state)
    decision.event = decision.event or f"due:{deadline.kind}"
    return decision


def caught_up(state: CenterState, now: datetime, *, hold_provisional: bool = False) -> CenterState:
    """The state once everything due at ``now`` is applied (a dry run: effects are dropped).

    ``hold_provisional``: a due deadline whose end is still provisional (PD10) is not fired here:
    the workflow asks the calendar first and may move or hold it, which a dry run cannot.
    """
    if hold_provisional:
        state = state.model_copy(deep=True)
        state.agenda = [d for d in state.agenda if not (d.provisional and d.due_at <= now)]
    while (decision := due_now(state, now, ordered=True)) is not None:
        state = decision.state
    return state


def remind(state: CenterState, deadline: Deadline, days: int, overtaken: list[int] | None = None) -> Decision:
    """PD9: a reminder ``days`` before the deadline, to the people who must act.

    ``overtaken``: earlier reminders of the same deadline whose time passed while the workflow was
    not running; they are marked done and not sent, since this newer one says the same thing, later.
    """
    new = state.model_copy(deep=True)
    target = new.deadline(deadline.id)
    assert target is not None
    target.reminders_sent.extend([*(overtaken or []), days])
    email = messages.compose(
        new,
        key=f"{deadline.id}:remind:{days}",
        to=recipients(new, deadline.who_acts, deadline.rule_id),
        rule_id=deadline.rule_id,
        subject_zh=f"提醒：{deadline.title_zh}（还有{days}天）",
        subject_en=f"Reminder: {deadline.title_en} ({days} days left)",
        what_zh=f"{deadline.title_zh}将于{days}天后到期。",
        what_en=f"{deadline.title_en} is due in {days} days.",
        todo_zh="请在截止时间前完成并在系统中提交。",
        todo_en="Complete it before the due time and record it in the system.",
        due_at=deadline.due_at,
    )
    skipped = f" (overtaken, not sent: {', '.join(f'{d} days' for d in overtaken)})" if overtaken else ""
    return settle(Decision(new, f"PD9 reminder {days} days before {deadline.title_en}{skipped}",
                           ("PD9", deadline.rule_id), emails=[email], event="reminder"), state)


def mark_overdue(state: CenterState, deadline: Deadline, now: datetime) -> Decision:
    """PD9: a deadline passed unmet stays on the agenda as overdue, and its people are told."""
    target = state.deadline(deadline.id)
    assert target is not None
    target.overdue = True
    email = messages.compose(
        state,
        key=f"{deadline.id}:overdue",
        to=recipients(state, deadline.who_acts) + messages.city(state),
        rule_id=deadline.rule_id,
        subject_zh=f"已逾期：{deadline.title_zh}",
        subject_en=f"Overdue: {deadline.title_en}",
        what_zh=f"{deadline.title_zh}已超过截止时间，尚未完成。",
        what_en=f"{deadline.title_en} has passed its due time and is not done.",
        todo_zh="请尽快完成并在系统中提交。",
        todo_en="Complete it as soon as possible and record it in the system.",
        due_at=deadline.due_at,
    )
    return Decision(state, f"{deadline.title_en} is overdue", ("PD9", deadline.rule_id), emails=[email])
