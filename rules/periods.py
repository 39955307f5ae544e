"""PD10: deadlines that end a period (M2/PD4 rectification, S3/PD5) and their provisional ends.

A period in months or years ends on its nominal last day, moved to the next working day when that
is a rest day (``rules.calendar.period_end``). Workflow code must not read the calendar data (it
changes every year and a replay must take the recorded path), so a rule opens such a deadline
*provisional*, at its nominal end, and the workflow settles it with the answer of the
``settle_period_ends`` activity (:func:`settle_provisional`):

- right after the step that opened it (the data of the end year is usually there);
- when it falls due: if the data is still missing, the deadline is *held*: it does not fire, the
  bureau is alerted once, and it is checked again every day (:data:`RECHECK`) or on the
  ``calendar_updated`` signal the worker sends when the calendar data grew;
- on the ``calendar_updated`` signal and at the start of every run (continue-as-new).

Pure: no I/O, no clock but ``now``.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from models.calendar import PeriodEndsAnswer, SettledPeriod
from models.effects import Ban, Email
from models.state import CenterState, Deadline
from rules import messages
from rules.agenda import recipients
from rules.calendar import CalendarNotCovered, PeriodEnd, WorkingDayCalendar, end_of_day, legal_last_day, local_date
from rules.engine import Decision, settle

# PD10: a held deadline is checked again after this long (and at once on the calendar_updated signal).
RECHECK = timedelta(days=1)
EVENT = "pd10:period_ends"


def answer_period_ends(nominal: list[date], calendar: WorkingDayCalendar) -> PeriodEndsAnswer:
    """PD10: what ``calendar`` says of these nominal last days (the settle_period_ends activity's answer)."""
    settled, missing = [], set()
    for day in sorted(set(nominal)):
        try:
            settled.append(SettledPeriod(nominal=day, last_day=legal_last_day(day, calendar)))
        except CalendarNotCovered as err:
            missing.add(err.year)
    return PeriodEndsAnswer(settled=settled, missing_years=sorted(missing))


def open_period(deadline: Deadline, period: PeriodEnd) -> Deadline:
    """PD10: mark a just-opened deadline as ending ``period`` (provisional until settled)."""
    deadline.due_at = period.due_at
    deadline.provisional = period.provisional
    deadline.nominal_due_at = end_of_day(period.nominal) if period.provisional or period.moved else None
    return deadline


def nominal_day(deadline: Deadline) -> date:
    """The nominal last day of a period deadline (24:00 of it is ``nominal_due_at``)."""
    return local_date((deadline.nominal_due_at or deadline.due_at) - timedelta(seconds=1))


def provisional_deadlines(state: CenterState) -> list[Deadline]:
    return [d for d in state.agenda if d.provisional]


def held_due(state: CenterState, now: datetime) -> bool:
    """A provisional deadline fell due: it must be settled (or held) before any due handler runs."""
    return any(d.provisional and not d.overdue and d.due_at <= now for d in state.agenda)


def years_needed(state: CenterState) -> set[int]:
    """The years whose calendar the provisional deadlines wait for (the signal skips other centers)."""
    years: set[int] = set()
    for d in provisional_deadlines(state):
        nominal = nominal_day(d)
        # A rest day at the very end of December can move the end into January of the next year.
        years |= {nominal.year, nominal.year + 1} if nominal.month == 12 else {nominal.year}
    return years


def settle_provisional(state: CenterState, answer: PeriodEndsAnswer, now: datetime) -> Decision | None:
    """PD10: settle every provisional deadline the calendar answers for; hold those that fell due unanswered.

    Returns None when nothing changes. A settled deadline whose legal end has passed is due at once
    (the workflow's next pass fires it). A held one is never fired on its nominal end.
    """
    new = state.model_copy(deep=True)
    settled: list[str] = []
    held: list[Deadline] = []
    moved_mail: list[Email] = []
    for d in new.agenda:
        if not d.provisional:
            continue
        nominal = nominal_day(d)
        last_day = answer.last_day(nominal)
        if last_day is not None:
            d.due_at, d.provisional, d.held_since = end_of_day(last_day), False, None
            d.nominal_due_at = end_of_day(nominal) if last_day != nominal else None
            _mirror(new, d)
            moved = f" (nominal {nominal}, a rest day)" if last_day != nominal else ""
            settled.append(f"{d.title_en} ends {last_day}{moved}")
            if last_day != nominal:
                moved_mail.append(_moved_notice(new, d, nominal, last_day))
        elif d.due_at <= now and not d.overdue:
            if d.nominal_due_at is None:
                d.nominal_due_at = d.due_at
            first = d.held_since is None
            d.held_since = d.held_since or now
            d.due_at = now + RECHECK
            d.reminders_sent = sorted(set(d.reminders_sent) | set(new.policy.reminder_days_before))
            if first:
                held.append(d)
    if not settled and not held and new.agenda == state.agenda:
        return None
    parts = [f"PD10: {s}" for s in settled] + [f"PD10: {d.title_en} held: calendar data for "
                                                 f"{nominal_day(d).year} missing" for d in held]
    emails = moved_mail + [_held_alert(new, d, answer) for d in held]
    return settle(Decision(new, "; ".join(parts) or "PD10: calendar data still missing, checked again later",
                           ("PD10", "PD2"), emails=emails, event=EVENT,
                           detail={"missing_years": answer.missing_years, **({"problem": answer.problem}
                                                                            if answer.problem else {})}), state)


def _mirror(state: CenterState, deadline: Deadline) -> None:
    """Records that copy a period deadline's end follow it (M2 rectification, S3)."""
    if deadline.kind == "rectification":
        for r in state.operating.rectifications:
            if str(r.grade_year) == deadline.ref and r.result is None:
                r.due_at = deadline.due_at
    elif deadline.kind == "s3_deadline":
        state.subsidy.s3_deadline_at = deadline.due_at


def _moved_notice(state: CenterState, deadline: Deadline, nominal: date, last_day: date) -> Email:
    """PD10: the people who act learn that the period ends on the next working day."""
    return messages.compose(
        state, key=f"{deadline.id}:pd10-moved", to=recipients(state, deadline.who_acts) + messages.city(state),
        rule_id="PD10", subject_zh=f"期满日顺延：{deadline.title_zh}", subject_en=f"Period end moved: {deadline.title_en}",
        what_zh=f"{deadline.title_zh}的名义期满日 {nominal} 为休息日，依法顺延至下一个工作日 {last_day}。",
        what_en=f"{deadline.title_en}: the nominal last day {nominal} is a rest day, so the period ends on the next "
                f"working day, {last_day} (Civil Code art. 203).",
        todo_zh="按顺延后的期满日安排。", todo_en="Plan for the moved last day.", due_at=deadline.due_at,
    )


def _held_alert(state: CenterState, deadline: Deadline, answer: PeriodEndsAnswer) -> Email:
    """PD10, PD2: tell the bureau a deadline cannot fall due until the calendar data exists."""
    nominal = nominal_day(deadline)
    why_en = answer.problem or f"the working-day calendar has no data for {nominal.year}"
    why_zh = answer.problem or f"工作日历缺少 {nominal.year} 年的数据"
    return messages.compose(
        state, key=f"{deadline.id}:pd10-held", to=messages.city(state), rule_id="PD10",
        subject_zh=f"期限暂缓到期：{deadline.title_zh}（缺少工作日历数据）",
        subject_en=f"Deadline held: {deadline.title_en} (calendar data missing)",
        what_zh=f"{deadline.title_zh}的名义期满日为 {nominal}，但{why_zh}，无法确定期满日是否顺延至下一个工作日。"
                f"该期限暂不到期，不会按推测执行。",
        what_en=f"{deadline.title_en} nominally ends on {nominal}, but {why_en}, so whether it moves to the next "
                f"working day cannot be known. The deadline waits; it never falls due on a guess.",
        todo_zh=f"请将国务院 {nominal.year} 年节假日安排加入工作日历（centers calendar --from-notice）并重启 worker。",
        todo_en=f"Add the State Council's {nominal.year} holiday schedule to the working-day calendar "
                f"(centers calendar --from-notice) and restart the workers.",
    )


def ban_end_text(ban: Ban) -> str:
    """PD10, PD7: a ban's last day for people: the legal one, with the nominal one when it differs."""
    if ban.provisional:
        return (f"{ban.ends_on.isoformat()} (provisional: moved to the next working day if a rest day, once the "
                f"{ban.ends_on.year} calendar is published)")
    if ban.nominal_ends_on and ban.nominal_ends_on != ban.ends_on:
        return f"{ban.ends_on.isoformat()} (nominal last day {ban.nominal_ends_on.isoformat()}, a rest day)"
    return ban.ends_on.isoformat()

