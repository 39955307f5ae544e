"""Bringing in an existing center (INTERFACE.md): a lifecycle that opens in `designated` or
`rectifying` with its past designation, grades, reports and subsidies, as one audited step.

The import is checked like any action: every past date before today and in the procedure's order,
grades only for evaluated years that have ended (M1), no pair of unqualified years in a row (that
is an M4 (4) revocation), a rectification still running (M2), at most the policy's subsidy years
(S1), settled amounts no larger than the advance (S2). Deadlines open from the import on, so no
past reminder is ever sent (PD9 sends none whose time passed before its deadline opened).
"""

from __future__ import annotations

from datetime import date, datetime, time

from models.designation import Designation
from models.directory import Role
from models.importing import EARLIEST, ImportCenter
from models.operating import Grade, Rectification, YearRecord
from models.phase import Phase
from models.policy import Policy
from models.state import CenterState
from models.subsidy import LedgerEntry, SubsidyYear
from rules import messages
from rules.agenda import add_deadline
from rules.calendar import SHANGHAI, local_date, period_end
from rules.engine import Decision, Refusal, settle
from rules.money import _open_clawback, ledger_key, open_settlement_deadline
from rules.operating import RECTIFICATION, YEAR_OPENS, first_evaluated_year, open_year, schedule_year
from rules.periods import open_period

EVENT = "import_center"


def check_import(imp: ImportCenter, policy: Policy, now: datetime) -> None:
    """Everything the import claims must be possible under the rule book; raises :class:`Refusal`."""
    today = local_date(now)
    if imp.actor.role is not Role.CITY_BUREAU:
        raise Refusal("INTERFACE", "actor.role", f"only the city bureau imports a center, not {imp.actor.role.value}")
    if not EARLIEST <= imp.designated_on <= today:
        raise Refusal("D7", "designated_on", f"must lie between {EARLIEST} and today ({today})")
    first = first_evaluated_year(imp.designated_on, policy.first_year_cutoff)
    for year in sorted(imp.grades):
        if not first <= year < today.year:
            raise Refusal("M1", f"grades.{year}", f"a grade is for an evaluated year that has ended, "
                          f"{first} to {today.year - 1} for a center designated on {imp.designated_on}")
        if imp.grades[year] is Grade.UNQUALIFIED and imp.grades.get(year - 1) is Grade.UNQUALIFIED:
            raise Refusal("M4", f"grades.{year}", f"{year - 1} and {year} both unqualified: that center was "
                          "revoked (M4 (4)); it cannot be imported as live")
    for year in sorted(imp.reports):
        if not first <= year < today.year + 1:
            raise Refusal("M7", f"reports.{year}", f"a report is on an evaluated year from {first} to {today.year}")
        opens = policy.annual_report_opens
        if year == today.year and today < date(year, opens.month, opens.day):
            raise Refusal("M7", f"reports.{year}", f"the report on {year} can be submitted from "
                          f"{date(year, opens.month, opens.day)}, not before")
    graded = sorted(imp.grades)
    if imp.phase == "designated" and graded and imp.grades[graded[-1]] is Grade.UNQUALIFIED:
        earliest_end = period_end(date(graded[-1] + 1, 1, 1), years=policy.rectification_years).nominal
        if earliest_end >= today:
            raise Refusal("M2", f"grades.{graded[-1]}", f"the {graded[-1]} grade is unqualified and its rectification "
                          f"cannot have ended before {earliest_end}: import the center as rectifying")
    _check_rectification(imp, today)
    _check_advances(imp, policy, today)


def _check_rectification(imp: ImportCenter, today: date) -> None:
    started = imp.rectification_started_on
    if imp.phase == "designated":
        if started is not None:
            raise Refusal("M2", "rectification_started_on", "only a center in phase rectifying has a running rectification")
        return
    if started is None:
        raise Refusal("M2", "rectification_started_on", "a rectifying center needs the day its rectification started")
    if not imp.designated_on <= started <= today:
        raise Refusal("M2", "rectification_started_on", f"must lie between the designation ({imp.designated_on}) and today")
    if imp.grades and started < date(max(imp.grades) + 1, 1, 1):
        raise Refusal("M2", "rectification_started_on", f"the {max(imp.grades)} grade is recorded after that year "
                      f"ended: the rectification starts on {date(max(imp.grades) + 1, 1, 1)} or later")
    if not imp.grades or imp.grades[max(imp.grades)] is not Grade.UNQUALIFIED:
        raise Refusal("M2", "grades", "a rectifying center's latest grade is 不合格 (unqualified)")


def _check_advances(imp: ImportCenter, policy: Policy, today: date) -> None:
    years = [a.year for a in imp.advances]
    if len(set(years)) != len(years):
        raise Refusal("S1", "advances", "one advance per subsidy year")
    if len(years) > policy.max_subsidy_years:
        raise Refusal("S1", "advances", f"at most {policy.max_subsidy_years} subsidy years")
    if years and max(years) - min(years) >= policy.max_subsidy_years:
        raise Refusal("PD11", "advances", f"the subsidy years are {min(years)} to "
                      f"{min(years) + policy.max_subsidy_years - 1}, counted from the first advance")
    if imp.advances:
        first_paid = min(a.granted_on for a in imp.advances)
        s3_end = period_end(first_paid, years=policy.designation_deadline_years).nominal
        if imp.designated_on > s3_end:
            raise Refusal("S3", "designated_on", f"designated after {s3_end}, more than "
                          f"{policy.designation_deadline_years} years after the first advance ({first_paid}): "
                          "S3 had lapsed; that is not a live designation to import")
    for i, a in enumerate(imp.advances):
        if not EARLIEST <= a.granted_on <= today or a.year > today.year:
            raise Refusal("S2", f"advances.{i}.granted_on", f"must lie between {EARLIEST} and today, for a year not after {today.year}")
        if a.granted_on.year not in (a.year - 1, a.year):
            raise Refusal("S2", f"advances.{i}.year", f"an advance for {a.year} is paid in {a.year} (or the year "
                          f"before), not on {a.granted_on}")
        if a.amount_due_yuan is not None and a.year >= today.year:
            raise Refusal("PD13", f"advances.{i}.amount_due_yuan", f"the amount due for {a.year} is assessed from "
                          f"1 January {a.year + 1}")
        if a.amount_due_yuan is not None and a.amount_due_yuan > a.amount_yuan:
            raise Refusal("S2", f"advances.{i}.amount_due_yuan", "the amount due cannot exceed the advance (no top-up)")


def import_lifecycle(state: CenterState, imp: ImportCenter, now: datetime) -> Decision:
    """The imported center's state and its one record; ``state`` is a fresh copy to fill in."""
    previous = state.model_copy(deep=True)
    check_import(imp, state.policy, now)
    name = imp.name or state.profile.designated_name
    state.designation = Designation(on=imp.designated_on, name=name, document_ref=imp.designation_ref)
    state.phase = Phase.DESIGNATED
    first = first_evaluated_year(imp.designated_on, state.policy.first_year_cutoff)
    for year, grade in sorted(imp.grades.items()):
        record = state.operating.years.setdefault(year, YearRecord(year=year))
        record.grade, record.evaluation_ref = grade, imp.source_ref
        state.operating.grades[year] = grade.value
    for year, ref in sorted(imp.reports.items()):
        state.operating.years.setdefault(year, YearRecord(year=year)).report_ref = ref
    _open_years(state, imp, first, now)
    if imp.phase == "rectifying":
        _rectifying(state, imp, now)
    ledger = _advances(state, imp, now)
    # What was already past due on import day is open and overdue from the start, named in the one
    # import message: no reminder or overdue notice for a time before the import is ever sent.
    late = [d for d in state.agenda if d.due_at <= now and not d.internal]
    for d in late:
        d.overdue = True
    late_zh = f"导入时已逾期：{'；'.join(d.title_zh for d in late)}。" if late else ""
    late_en = f" Already overdue at import: {'; '.join(d.title_en for d in late)}." if late else ""
    email = messages.compose(
        state, key="imported", to=messages.everyone(state), rule_id="D7",
        subject_zh="已导入产业创新中心管理系统", subject_en="Brought into the lifecycle service",
        what_zh=f"“{name}”（认定文件 {imp.designation_ref}，{imp.designated_on}）已按 {imp.source_ref} 导入，当前阶段：{imp.phase}。",
        what_en=f"“{name}” (designation {imp.designation_ref}, {imp.designated_on}) was brought in from "
                f"{imp.source_ref}; phase {imp.phase}.",
        todo_zh=f"请核对中心信息；今后的提醒和期限以本系统为准。{late_zh}",
        todo_en=f"Check the center's record; reminders and deadlines now come from this service.{late_en}",
    )
    summary = (f"imported from {imp.source_ref}: designated {imp.designated_on} ({imp.designation_ref}), "
               f"{len(imp.grades)} grade(s), {len(imp.advances)} advance(s), phase {state.phase.value}")
    return settle(Decision(state, summary, ("D7", "M1", "S2"), emails=[email], ledger=ledger, event=EVENT,
                           detail={"source_ref": imp.source_ref}), previous)


def _open_years(state: CenterState, imp: ImportCenter, first: int, now: datetime) -> None:
    """M1, M7: every ended evaluated year without a grade is open now (a report already filed closes
    its report deadline); from this year on, years open as the calendar reaches them."""
    today = local_date(now)
    for year in range(first, today.year):
        if year in imp.grades:
            continue
        open_year(state, year, now)
        if year in imp.reports:
            state.agenda = [d for d in state.agenda if d.id != f"annual_report-{year}"]
    # open_year schedules the year after each; only the marker of the current year may stay
    state.agenda = [d for d in state.agenda if not (d.kind == YEAR_OPENS and d.ref and int(d.ref) < today.year)]
    schedule_year(state, max(today.year, first), now)


def _rectifying(state: CenterState, imp: ImportCenter, now: datetime) -> None:
    """M2, PD4, PD10: the running rectification, from the day the unqualified grade was recorded."""
    assert imp.rectification_started_on is not None
    grade_year = max(imp.grades)
    period = period_end(imp.rectification_started_on, years=state.policy.rectification_years)
    if period.due_at <= now:
        raise Refusal("M2", "rectification_started_on", "that rectification period has ended: record its result "
                      "(or the delisting) in the register and import the center as it stands now")
    state.phase = Phase.RECTIFYING
    state.operating.rectifications.append(Rectification(grade_year=grade_year, started_on=imp.rectification_started_on,
                                                        due_at=period.due_at))
    open_period(add_deadline(state, id=f"{RECTIFICATION}-{grade_year}", kind=RECTIFICATION, rule_id="M2",
                             due_at=period.due_at, now=now, who_acts=Role.IMPLEMENTING_ENTITY, title_zh="整改期满",
                             title_en="rectification period ends", ref=str(grade_year)), period)


def _noon(day: date) -> datetime:
    """A past day as an instant (PD1: Asia/Shanghai), for records that know only the day."""
    return datetime.combine(day, time(12), SHANGHAI)


def advance_entries(state: CenterState, imp: ImportCenter, now: datetime) -> list[LedgerEntry]:
    """S1, PD6: the imported advances as ledger entries. They enter the ledger like any advance,
    through the locked cap check of their year (the workflow reserves them before deciding)."""
    who = f"{imp.actor.role.value}: {imp.actor.name}"
    return [LedgerEntry(key=ledger_key(state, "import", str(a.year), "advance"), center_id=state.center_id,
                        year=a.year, kind="advance", amount_yuan=a.amount_yuan, actor=who, rule_id="S2", at=now,
                        reference=a.payment_ref) for a in sorted(imp.advances, key=lambda a: a.year)]


def _advances(state: CenterState, imp: ImportCenter, now: datetime) -> list[LedgerEntry]:
    """S1, S2: the subsidy years, their settlements, and a settled excess owed back (S2)."""
    who = f"{imp.actor.role.value}: {imp.actor.name}"
    ledger: list[LedgerEntry] = []
    for a, entry in zip(sorted(imp.advances, key=lambda a: a.year), advance_entries(state, imp, now)):
        state.subsidy.years.append(SubsidyYear(
            year=a.year, advance_yuan=a.amount_yuan, granted_at=_noon(a.granted_on),
            granted_by=who, payment_ref=a.payment_ref,
            ledger_key=entry.key, amount_due_yuan=a.amount_due_yuan, assessment_ref=a.assessment_ref,
            settled_at=now if a.amount_due_yuan is not None else None))
        if a.amount_due_yuan is None:
            open_settlement_deadline(state, a.year, now)  # PD13: the bureau settles it, as any advance
            continue
        ledger.append(LedgerEntry(key=ledger_key(state, "import", str(a.year), "settlement"), center_id=state.center_id,
                                  year=a.year, kind="settlement", amount_yuan=a.amount_due_yuan, actor=who,
                                  rule_id="S2", at=now, reference=a.assessment_ref))
        excess = a.amount_yuan - a.amount_due_yuan
        if excess > 0:
            _open_clawback(state, a.year, "S2", excess, now)
            ledger.append(LedgerEntry(key=ledger_key(state, "import", str(a.year), "clawback"),
                                      center_id=state.center_id, year=a.year, kind="clawback", amount_yuan=excess,
                                      actor=who, rule_id="S2", at=now, reference=imp.source_ref))
    if imp.advances:
        state.subsidy.first_advance_on = min(a.granted_on for a in imp.advances)
    return ledger
