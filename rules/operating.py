"""Operating life: yearly report and evaluation, rectification, major changes, revocation.

Rules M1, M2, M3, M4, M7 with PD3, PD4 and PD7. How M2 and M4 (4) meet, in one place
(:func:`decide_evaluation`): an unqualified grade starts a one-year rectification (M2, PD4). If the
grade of the evaluated year before (or after, when grades are recorded out of order) is also
unqualified, M4 (4) applies instead and revokes the designation at once, even while a
rectification runs: two unqualified years in a row is the stronger measure and its own ground.
A rectification that fails, or runs out, before a second unqualified grade is recorded delists the
center (M2) and the lifecycle ends there. docs/operating-life.md explains each decision.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from models.directory import Role
from models.effects import Ban, Email
from models.operating import MajorChange, Rectification, Revocation, RevocationGround, YearRecord, Grade
from models.policy import MonthDay
from models.operating_actions import (
    RecordAnnualEvaluation, RecordMajorChangeReview, RecordRectificationResult, ReportMajorChange, Revoke,
    SubmitAnnualReport,
)
from models.phase import DESIGNATED_PHASES, Phase
from models.state import CenterState, Deadline
from rules import messages
from rules.agenda import add_deadline, mark_overdue, remove_deadline
from models.calendar import PeriodEndsAnswer, PeriodEndsRequest
from rules.calendar import PeriodEnd, end_of_day, local_date, period_end
from rules.periods import ban_end_text, open_period
from rules.engine import Decision, FactRequest, Refusal, action, end_lifecycle, next_id, on_due, when_designated

YEAR_OPENS = "operating_year"
REPORT = "annual_report"
EVALUATION = "annual_evaluation"
RECTIFICATION = "rectification"


def first_evaluated_year(designated_on: date, cutoff: MonthDay) -> int:
    """M1 (product decision): the designation year is evaluated if designated by ``cutoff`` (30 June
    in the 2025 policy, ``Policy.first_year_cutoff``), else the next."""
    return designated_on.year if (designated_on.month, designated_on.day) <= (cutoff.month, cutoff.day) \
        else designated_on.year + 1


@when_designated
def open_operating_life(state: CenterState, now: datetime) -> list[Email]:
    """M1, M7: from designation, every evaluated year gets a report and an evaluation deadline."""
    assert state.designation is not None
    schedule_year(state, first_evaluated_year(state.designation.on, state.policy.first_year_cutoff), now)
    return []


def schedule_year(state: CenterState, year: int, now: datetime) -> None:
    """Year ``year`` opens when it begins (or now, if it already has)."""
    opens_at = end_of_day(date(year - 1, 12, 31))
    add_deadline(state, id=f"year-{year}", kind=YEAR_OPENS, rule_id="M1", due_at=max(opens_at, now), now=now,
                 who_acts=Role.CITY_BUREAU, title_zh=f"{year}年度评价周期开始", title_en=f"evaluation year {year} opens",
                 ref=str(year), reminders=False, internal=True)


@on_due(YEAR_OPENS)
def year_opens(state: CenterState, deadline: Deadline, now: datetime) -> Decision:
    """M7, M1: open the year's report and evaluation deadlines (policy dates of the next year)."""
    year = int(deadline.ref or 0)
    remove_deadline(state, deadline.id)
    open_year(state, year, now)
    return Decision(state, f"evaluation year {year} opened", ("M1", "M7"))


def open_year(state: CenterState, year: int, now: datetime) -> None:
    """M7, M1: the year's report and evaluation deadlines, and the marker of the year after."""
    state.operating.years.setdefault(year, YearRecord(year=year))
    policy = state.policy
    add_deadline(state, id=f"{REPORT}-{year}", kind=REPORT, rule_id="M7",
                 due_at=end_of_day(date(year + 1, policy.annual_report_due.month, policy.annual_report_due.day)),
                 now=now, who_acts=Role.IMPLEMENTING_ENTITY, title_zh=f"{year}年度报告", title_en=f"annual report {year}",
                 ref=str(year))
    add_deadline(state, id=f"{EVALUATION}-{year}", kind=EVALUATION, rule_id="M1",
                 due_at=end_of_day(date(year + 1, policy.annual_evaluation_due.month, policy.annual_evaluation_due.day)),
                 now=now, who_acts=Role.CITY_BUREAU, title_zh=f"{year}年度绩效评价", title_en=f"annual evaluation {year}",
                 ref=str(year))
    schedule_year(state, year + 1, now)


on_due(REPORT)(mark_overdue)
on_due(EVALUATION)(mark_overdue)


def _year_deadline(state: CenterState, kind: str, year: int, rule: str) -> Deadline:
    found = state.deadline(f"{kind}-{year}")
    if found is None:
        open_years = sorted(d.ref for d in state.agenda if d.kind == kind and d.ref)
        raise Refusal(rule, "year", f"no open {kind.replace('_', ' ')} for {year} (open: {', '.join(open_years) or 'none'})")
    return found


def check_report(state: CenterState, act: SubmitAnnualReport, now: datetime) -> None:
    """M7: one report per evaluated year, for a year whose report is open, from ``annual_report_opens``
    of that year (product decision, 1 December: a report on a year is written as the year ends)."""
    _year_deadline(state, REPORT, act.year, "M7")
    opens_on = state.policy.annual_report_opens
    opens = date(act.year, opens_on.month, opens_on.day)
    if local_date(now) < opens:
        raise Refusal("M7", "year", f"the report on {act.year} can be submitted from {opens}, not before")


@action(
    "submit_annual_report", payload=SubmitAnnualReport, rules=("M7",),
    roles={Role.IMPLEMENTING_ENTITY, Role.COUNTY_DEPARTMENT}, phases=set(DESIGNATED_PHASES),
    description="M7: the implementing entity submits its report on an evaluated year",
    check=check_report,
)
def decide_report(state: CenterState, act: SubmitAnnualReport, now: datetime, _: None) -> Decision:
    deadline = remove_deadline(state, f"{REPORT}-{act.year}")
    record = state.operating.years.setdefault(act.year, YearRecord(year=act.year))
    record.report_ref, record.report_at, record.report_late = act.report_ref, now, bool(deadline and deadline.overdue)
    late = " (late)" if record.report_late else ""
    return Decision(state, f"annual report {act.year} submitted{late}", ("M7",))


def check_evaluation(state: CenterState, act: RecordAnnualEvaluation, now: datetime) -> None:
    """M1: one grade per evaluated year, for a year whose evaluation is open and which has ended
    (product decision: a yearly evaluation grades a whole year; this also stops a mistyped year)."""
    _year_deadline(state, EVALUATION, act.year, "M1")
    if local_date(now).year <= act.year:
        raise Refusal("M1", "year", f"{act.year} is not over yet: its evaluation can be recorded from "
                                    f"{date(act.year + 1, 1, 1)}")


@action(
    "record_annual_evaluation", payload=RecordAnnualEvaluation, rules=("M1", "M2", "M4"),
    roles={Role.CITY_BUREAU}, phases=set(DESIGNATED_PHASES),
    description="M1 M2 M4: the bureau records the yearly grade; unqualified starts rectification or revokes",
    check=check_evaluation,
)
def decide_evaluation(state: CenterState, act: RecordAnnualEvaluation, now: datetime, _: None) -> Decision:
    """M1 grade; M2 unqualified -> rectification; M4 (4) second unqualified year in a row -> revoked."""
    remove_deadline(state, f"{EVALUATION}-{act.year}")
    record = state.operating.years.setdefault(act.year, YearRecord(year=act.year))
    record.grade, record.graded_at, record.evaluator, record.evaluation_ref = act.grade, now, act.evaluator, act.report_ref
    state.operating.grades[act.year] = act.grade.value
    decision = Decision(state, f"{act.year} graded {act.grade.value}", ("M1",))
    if act.grade is not Grade.UNQUALIFIED:
        return decision
    streak = unqualified_run(state, act.year)
    if len(streak) >= state.policy.revocation_unqualified_streak:
        # M4 (4) over M2: the second unqualified year in a row revokes, even during a rectification.
        years = " and ".join(str(y) for y in streak)
        _revoke(decision, RevocationGround.UNQUALIFIED_TWO_YEARS, f"unqualified in {years} ({act.report_ref})", now)
        return decision
    if state.phase is Phase.DESIGNATED:
        _start_rectification(decision, act.year, now)
    else:  # only when grades come out of order: the running rectification covers this grade too
        decision.summary += f"; rectification for {_open_rectification(state).grade_year} already running (M2)"
        decision.rule_ids += ("M2",)
    return decision


def unqualified_run(state: CenterState, year: int) -> list[int]:
    """M4 (4): the consecutive evaluated years graded unqualified that include ``year`` (both ways,
    so a year graded late still joins the year after it)."""
    unqualified = {y for y, g in state.operating.grades.items() if g == Grade.UNQUALIFIED.value}
    if year not in unqualified:
        return []
    first, last = year, year
    while first - 1 in unqualified:
        first -= 1
    while last + 1 in unqualified:
        last += 1
    return list(range(first, last + 1))


def _start_rectification(decision: Decision, year: int, now: datetime) -> None:
    """M2, PD4: rectify within one year from the day the unqualified grade is recorded (PD10: that day not
    counted; provisional until the workflow settles the end over rest days, rules/periods.py)."""
    state = decision.state
    started = local_date(now)
    period = period_end(started, years=state.policy.rectification_years)
    due_at = period.due_at
    state.operating.rectifications.append(Rectification(grade_year=year, started_on=started, due_at=due_at))
    state.phase = Phase.RECTIFYING
    open_period(add_deadline(state, id=f"{RECTIFICATION}-{year}", kind=RECTIFICATION, rule_id="M2", due_at=due_at,
                             now=now, who_acts=Role.IMPLEMENTING_ENTITY, title_zh="整改期满",
                             title_en="rectification period ends", ref=str(year)), period)
    decision.summary += "; rectification started (M2)"
    decision.rule_ids += ("M2", "PD4")
    decision.emails.append(messages.compose(
        state, key=f"rectification-{year}", to=messages.everyone(state), rule_id="M2",
        subject_zh="年度评价不合格，限期整改", subject_en=f"Unqualified: rectification within {state.policy.rectification_years} year(s)",
        what_zh=f"{year}年度绩效评价结果为不合格，整改期{state.policy.rectification_years}年。", what_en=f"The {year} evaluation is unqualified; rectify within {state.policy.rectification_years} year(s).",
        todo_zh="实施主体：在整改期内完成整改；期满仍不合格的予以摘牌。",
        todo_en="Implementing entity: rectify within the period; still unqualified at its end means delisting.",
        due_at=due_at,
    ))


def _close_running_rectification(state: CenterState, why: str) -> None:
    """A rectification cut short by revocation (M4) or cancellation (M3) is closed as superseded."""
    for rectification in state.operating.rectifications:
        if rectification.result is None:
            rectification.result, rectification.finding = "superseded", why


def _ban(state: CenterState, subject: str, now: datetime, years: int, rule_id: str, reason: str) -> Ban:
    """PD7: delisting (M2) bars the implementing entity from any center; revocation (M4) bars the
    implementing entity and the lead unit from the same type (field) of center. PD10: ``years``
    counted from the day after today; the last day is the corresponding day (inclusive), moved over
    rest days: the bans registry settles it when read (db/outcomes.py), so it is provisional here."""
    starts = local_date(now)
    body = state.profile.implementing_entity if subject == "implementing_entity" else state.profile.lead_unit
    nominal = period_end(starts, years=years).nominal
    return Ban(
        key=f"{state.lifecycle_key}:ban:{subject}", center_id=state.center_id, subject_kind=subject,  # type: ignore[arg-type]
        credit_code=body.credit_code, subject_name=body.name,
        scope="any" if rule_id == "M2" else "same_type",
        field=None if rule_id == "M2" else state.profile.field.value,
        rule_id=rule_id, starts_on=starts, ends_on=nominal, nominal_ends_on=nominal, provisional=True, reason=reason,
    )


# PD10: a ban's nominal last day moves to the next working day when it is a rest day.
BAN_NOTE_ZH = "；如为休息日，顺延至下一个工作日"
BAN_NOTE_EN = " (moved to the next working day if that is a rest day, PD10)"


def _delist(decision: Decision, reason: str, now: datetime) -> None:
    """M2, PD7: delisted; the implementing entity may not apply for 2 years."""
    state = decision.state
    end_lifecycle(state, Phase.DELISTED, now, f"M2: {reason}")
    ban = _ban(state, "implementing_entity", now, state.policy.delisting_ban_years, "M2", reason)
    decision.bans.append(ban)
    decision.summary += f"; delisted, {ban.subject_name} barred until {ban_end_text(ban)}"
    decision.rule_ids += ("M2", "PD7")
    decision.emails.append(messages.compose(
        state, key="delisted", to=messages.everyone(state), rule_id="M2",
        subject_zh="摘牌通知", subject_en="Delisted",
        what_zh=f"整改期满仍不合格，予以摘牌：{reason}。{ban.subject_name}在{ban.ends_on}（含当日{BAN_NOTE_ZH}）前"
                f"不得再次申请认定。",
        what_en=f"Still unqualified after rectification, the center is delisted: {reason}. "
                f"{ban.subject_name} may not apply again until {ban.ends_on} inclusive{BAN_NOTE_EN}.",
        todo_zh="如有疑问请联系市科技局。", todo_en="Ask the city bureau if anything is unclear.",
    ))


def _revoke(decision: Decision, ground: RevocationGround, evidence: str, now: datetime) -> None:
    """M4, PD7: revoked; the center's implementing entity and its lead unit (市产业创新中心及牵头单位)
    may not apply for the same type of center for 2 years."""
    state = decision.state
    state.operating.revocation = Revocation(ground=ground, evidence=evidence, at=now)
    _close_running_rectification(state, f"revoked (M4 {ground.value})")
    end_lifecycle(state, Phase.REVOKED, now, f"M4 {ground.value}: {evidence}")
    years = state.policy.revocation_ban_years
    bans = [_ban(state, subject, now, years, "M4", f"revoked: {ground.value}")
            for subject in ("implementing_entity", "lead_unit")]
    decision.bans.extend(bans)
    ban = bans[-1]
    names = " and ".join(b.subject_name for b in bans)
    decision.summary += f"; revoked ({ground.value}), {names} barred from this type until {ban_end_text(ban)}"
    decision.rule_ids += ("M4", "PD7")
    decision.emails.append(messages.compose(
        state, key="revoked", to=messages.everyone(state), rule_id="M4",
        subject_zh="撤销认定通知", subject_en="Designation revoked",
        what_zh=f"取消市产业创新中心资格（{ground.value}）：{evidence}。实施主体及牵头单位在{ban.ends_on}（含当日"
                f"{BAN_NOTE_ZH}）前不得申报同类型产业创新中心。",
        what_en=f"The designation is revoked ({ground.value}): {evidence}. The implementing entity and the lead unit "
                f"may not apply for the same type of center until {ban.ends_on} inclusive{BAN_NOTE_EN}.",
        todo_zh="如有疑问请联系市科技局。", todo_en="Ask the city bureau if anything is unclear.",
    ))


def _open_rectification(state: CenterState) -> Rectification:
    return next(r for r in reversed(state.operating.rectifications) if r.result is None)


def check_rectification_result(state: CenterState, act: RecordRectificationResult, now: datetime) -> None:
    """PD15: M2 needs a finding, recorded only once the rectification period has ended."""
    rectification = _open_rectification(state)
    if state.rule_book_pd11 and now < rectification.due_at:
        raise Refusal("PD15", "phase", f"the rectification period runs until {messages.format_due(rectification.due_at)}; "
                      "its result is recorded once it has ended")


@action(
    "record_rectification_result", payload=RecordRectificationResult, rules=("M2", "PD4", "PD15"),
    roles={Role.CITY_BUREAU}, phases={Phase.RECTIFYING},
    description="M2 PD4 PD15: once the rectification period has ended, the bureau records its result: passed "
                "(designated again) or failed (delisted)",
    check=check_rectification_result,
)
def decide_rectification(state: CenterState, act: RecordRectificationResult, now: datetime, _: None) -> Decision:
    rectification = _open_rectification(state)
    rectification.result, rectification.finding = ("passed" if act.passed else "failed"), act.finding
    remove_deadline(state, f"{RECTIFICATION}-{rectification.grade_year}")
    decision = Decision(state, f"rectification {rectification.result}", ("M2", "PD4"))
    if act.passed:
        state.phase = Phase.DESIGNATED
    else:
        _delist(decision, f"rectification failed: {act.finding}", now)
    return decision


@on_due(RECTIFICATION)
def rectification_ends(state: CenterState, deadline: Deadline, now: datetime) -> Decision:
    """PD15: the period is over and the bureau now records its finding; until then the deadline is
    overdue for the bureau, and nothing happens by itself. (Before PD15: delisted automatically.)"""
    if state.rule_book_pd11:
        return mark_overdue(state, deadline, now)
    rectification = _open_rectification(state)
    rectification.result = "lapsed"
    decision = Decision(state, "rectification period ended without a pass", ("M2", "PD4"))
    _delist(decision, f"the rectification period for {rectification.grade_year} ended without a pass", now)
    return decision


def check_change(state: CenterState, act: ReportMajorChange, now: datetime) -> None:
    """M3: the change has happened (not in the future)."""
    if act.happened_on > local_date(now):
        raise Refusal("M3", "happened_on", "a major change is reported after it happened, not before")


# docs/rollout.md, "dated rule": a report recorded before PD10 took no calendar activity, so a replay of
# it must not ask for one; it keeps the nominal end (PD3 alone).
PD10_WINDOW_FROM = datetime(2026, 11, 29, tzinfo=UTC)


def change_window(state: CenterState, act: ReportMajorChange, now: datetime) -> FactRequest | None:
    """PD10: the window's end moves over rest days, which needs the calendar data: an activity answers."""
    if now < PD10_WINDOW_FROM:
        return None
    nominal = period_end(act.happened_on, months=state.policy.major_change_report_months).nominal
    return FactRequest("settle_period_ends", PeriodEndsRequest(nominal=[nominal]), PeriodEndsAnswer, "PD10",
                       "happened_on", "PD10 the 3-month window's last working day")


@action(
    "report_major_change", payload=ReportMajorChange, rules=("M3", "PD3", "PD10"),
    roles={Role.IMPLEMENTING_ENTITY, Role.COUNTY_DEPARTMENT}, phases=set(DESIGNATED_PHASES),
    description="M3 PD3: report a split, merger, restructuring or change of business within the policy's window",
    check=check_change, facts=change_window,
)
def decide_change(state: CenterState, act: ReportMajorChange, now: datetime,
                  calendar: PeriodEndsAnswer | None) -> Decision:
    """PD3, PD10: the window ends 3 calendar months after the day it happened (that day not counted), on
    the next working day if that is a rest day; a late report is taken, marked late."""
    nominal = period_end(act.happened_on, months=state.policy.major_change_report_months).nominal
    period = PeriodEnd(nominal, calendar.last_day(nominal) if calendar is not None else nominal)
    if period.provisional and now > period.due_at:
        # Past the nominal end, on time or late depends on data that is missing: never a guess (PD2).
        why = calendar.problem or f"the working-day calendar has no data for {nominal.year}"
        raise Refusal("PD10", "happened_on", f"the 3-month window's nominal last day {nominal} has passed; whether it "
                      f"moves to a later working day cannot be told: {why}. A person must add the calendar data (PD2)")
    window = period.due_at
    change = MajorChange(id=next_id(state, "change"), kind=act.kind, happened_on=act.happened_on,
                         description=act.description, reported_at=now, reported_by=act.actor.name,
                         window_ends_at=window, late=now > window, window_provisional=period.provisional,
                         window_nominal_ends_at=end_of_day(nominal) if period.provisional or period.moved else None)
    state.operating.major_changes.append(change)
    if period.moved:
        note_zh, note_en = f"（名义期满日 {nominal} 为休息日，顺延至 {period.last_day}）", \
            f" (the nominal last day {nominal} is a rest day: moved to {period.last_day})"
    elif period.provisional:
        note_zh, note_en = f"（暂定：名义期满日 {nominal}，如为休息日则顺延）", \
            f" (provisional: nominal last day {nominal}, moved to the next working day if a rest day)"
    else:
        note_zh = note_en = ""
    email = messages.compose(
        state, key=f"{act.request_id}:change", to=messages.county(state) + messages.city(state), rule_id="M3",
        subject_zh="重大变化报告", subject_en="Major change reported",
        what_zh=f"报告重大变化（{act.kind.value}，发生于{act.happened_on}）：{act.description}"
                + (f"（已超过{state.policy.major_change_report_months}个月报告期限）" if change.late else "") + f"报告期限至{period.day}{note_zh}。",
        what_en=f"Major change reported ({act.kind.value}, on {act.happened_on}): {act.description}"
                + (" (reported after the 3-month window)" if change.late else "")
                + f". Report window: until {period.day}{note_en}.",
        todo_zh="市科技局：审核其是否仍符合认定条件。", todo_en="City bureau: review whether it still meets the conditions.",
        due_at=window,
    )
    late = ", late" if change.late else ""
    return Decision(state, f"major change {change.id} reported ({act.kind.value}{late})", ("M3", "PD3", "PD10"),
                    emails=[email])


def _open_change(state: CenterState, change_id: str) -> MajorChange:
    found = next((c for c in state.operating.major_changes if c.id == change_id and c.status == "open"), None)
    if found is None:
        open_ids = ", ".join(c.id for c in state.operating.major_changes if c.status == "open") or "none"
        raise Refusal("M3", "change_id", f"no open major change {change_id!r} (open: {open_ids})")
    return found


@action(
    "record_major_change_review", payload=RecordMajorChangeReview, rules=("M3",),
    roles={Role.CITY_BUREAU}, phases=set(DESIGNATED_PHASES),
    description="M3: the bureau keeps the designation, or cancels it from the year the change happened",
    check=lambda state, act, now: _open_change(state, act.change_id) and None,
)
def decide_change_review(state: CenterState, act: RecordMajorChangeReview, now: datetime, _: None) -> Decision:
    change = _open_change(state, act.change_id)
    change.status, change.finding = ("kept" if act.still_eligible else "cancelled"), act.finding
    if act.still_eligible:
        return Decision(state, f"major change {change.id} reviewed: designation stands", ("M3",))
    cancelled_from = date(change.happened_on.year, 1, 1)
    if state.rule_book_pd11 and state.designation is not None:
        cancelled_from = max(cancelled_from, state.designation.on)  # M3: never from before the designation
    state.operating.cancelled_from = cancelled_from
    _close_running_rectification(state, f"cancelled (M3) from {state.operating.cancelled_from}")
    end_lifecycle(state, Phase.CANCELLED, now, f"M3: no longer eligible after {change.kind.value}: {act.finding}")
    # PD14: the advances of the years the cancellation covers each need a settlement (PD13 deadlines).
    covered = ", ".join(str(y.year) for y in state.subsidy.years
                        if y.year >= cancelled_from.year and not y.settled) if state.rule_book_pd11 else ""
    email = messages.compose(
        state, key=f"{act.request_id}:cancelled", to=messages.everyone(state), rule_id="M3",
        subject_zh="取消认定资格", subject_en="Designation cancelled",
        what_zh=f"重大变化后不再符合认定条件，自{state.operating.cancelled_from}起取消认定资格：{act.finding}",
        what_en=f"No longer eligible after the major change; designation cancelled from "
                f"{state.operating.cancelled_from}: {act.finding}",
        todo_zh=f"市科技局：对{covered}年度补助逐年清算（应得金额可为零）。" if covered else "如有疑问请联系市科技局。",
        todo_en=f"City bureau: settle each of {covered} (the amount due may be zero)." if covered
        else "Ask the city bureau if anything is unclear.",
    )
    return Decision(state, f"designation cancelled from {state.operating.cancelled_from}", ("M3",), emails=[email])


def check_revoke(state: CenterState, act: Revoke, now: datetime) -> None:
    """M4 (4) needs the grades to show the streak; the other grounds need evidence only."""
    if act.ground is RevocationGround.UNQUALIFIED_TWO_YEARS:
        needed = state.policy.revocation_unqualified_streak
        if not any(len(unqualified_run(state, year)) >= needed for year in state.operating.grades):
            raise Refusal("M4", "ground", f"the recorded grades do not show {needed} unqualified years in a row")


@action(
    "revoke", payload=Revoke, rules=("M4", "PD7"), roles={Role.CITY_BUREAU}, phases=set(DESIGNATED_PHASES),
    description="M4 PD7: revoke the designation on one of the four grounds; the center and its lead unit are barred "
                "from the same field for the policy's ban",
    check=check_revoke,
)
def decide_revoke(state: CenterState, act: Revoke, now: datetime, _: None) -> Decision:
    decision = Decision(state, "designation revoked", ("M4", "PD7"))
    _revoke(decision, act.ground, act.evidence, now)
    return decision
