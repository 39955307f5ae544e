"""Money: advances, performance settlement, clawback, the caps, the 2-year deadline (S1-S3, PD5, PD6, PD11-PD14).

Each rule is enforced in exactly one place:

- S1, PD11 (the subsidy years Y..Y+2 from the first advance, per center across lifecycles), S2 (one
  advance per year), S3 per center (no advance after a lapse, in any lifecycle), PD12 (an advance
  for Y only during Y) and PD6 (the city cap): the ledger, through the ``reserve_subsidy_advance``
  activity (:func:`advance_reservation`), which checks and writes the advance in one locked
  transaction (``db/ledger.py``); a refusal names its rule and field.
- S2 (advance, then settlement on performance, excess clawed back): :func:`check_settle` /
  :func:`decide_settle`, :func:`check_repayment` / :func:`decide_repayment`, :func:`clawback_overdue`.
- PD13 (settlement from 1 January of Y+1 or once the center ended or lapsed, never above the
  advance; a settlement deadline per advance that outlives the lifecycle): :func:`check_settle`,
  :func:`open_settlement_deadline`, :func:`settlement_overdue`.
- S3, PD5, PD14 (designated within 2 years of the first advance; at the lapse the bureau settles
  every unsettled year, nothing is clawed back without that finding): the deadline opened by
  :func:`decide_grant`, closed by :func:`close_s3_deadline` at designation, lapsing in
  :func:`s3_deadline_passes`.

Runs begun before the patch ``pd1x-rule-book-pd11-pd17`` (``state.rule_book_pd11`` False) keep the
rules they started with: the per-lifecycle checks of :func:`legacy_check_grant` and the automatic
full clawback at the S3 lapse. Pure: no I/O, no clock but ``now``. Decisions: docs/money.md.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal

from models.directory import Role
from models.effects import Email
from models.phase import ENDED, Phase
from models.state import CenterState, Deadline
from models.subsidy import (
    ZERO, AdvanceRequest, AdvanceRequestPD11, AdvanceReservation, Clawback, LedgerEntry, SubsidyYear, yuan_text, yuan_zh,
)
from models.subsidy_actions import GrantAdvance, RecordRepayment, SettleSubsidy
from rules import messages
from rules.agenda import add_deadline, mark_overdue, remove_deadline
from rules.calendar import end_of_day, local_date, period_end
from rules.periods import open_period
from rules.engine import Decision, FactRequest, Refusal, action, on_due, settle, when_designated

S3_DEADLINE = "s3-designation"
S3_KIND = "s3_deadline"
CLAWBACK_KIND = "clawback_due"
SETTLEMENT_KIND = "settlement_due"
ADVANCE_PHASES = set(Phase) - set(ENDED)
SYSTEM = "system"


def ledger_key(state: CenterState, *parts: str) -> str:
    """Idempotency key of a ledger entry: the center, this lifecycle (its opening instant, so a later
    lifecycle of the same center never collides), and what the entry is for (request id or deadline)."""
    return ":".join((state.lifecycle_key, *parts))


def _actor(act: GrantAdvance | SettleSubsidy | RecordRepayment) -> str:
    return f"{act.actor.role.value}: {act.actor.name}"


def advance_year(act: GrantAdvance, now: datetime) -> int:
    """S2: the subsidy year an advance is for: the payload's, else this year (Asia/Shanghai, PD1)."""
    return act.year if act.year is not None else local_date(now).year


def _years(state: CenterState) -> str:
    return ", ".join(str(y) for y in state.subsidy.years_granted) or "none"


# -- grant_advance -------------------------------------------------------------------------------


def check_grant(state: CenterState, act: GrantAdvance, now: datetime) -> None:
    """S1, S2, S3, PD11, PD12 hold per center across lifecycles, so the ledger checks them
    (:func:`advance_reservation`); only a run begun before PD11 checks its own state. This
    lifecycle's own S3 lapse is also refused here: its ledger row is written by the step's record,
    which may still be queued when the next action arrives."""
    if not state.rule_book_pd11:
        legacy_check_grant(state, act, now)
    elif state.subsidy.s3_lapsed:
        raise Refusal("S3", "designation", f"the center was not designated within "
                      f"{state.policy.designation_deadline_years} years of its first subsidy "
                      f"({state.subsidy.first_advance_on}); it gets no further subsidy, in this or any later lifecycle")


def legacy_check_grant(state: CenterState, act: GrantAdvance, now: datetime) -> None:
    """Before PD11 (runs begun before the patch): S3 no advance after this lifecycle's lapse; S2 one
    advance per year, this year or next; S1 at most ``policy.max_subsidy_years`` years in this lifecycle."""
    subsidy = state.subsidy
    if subsidy.s3_lapsed:
        raise Refusal(
            "S3", "designation",
            f"the center was not designated within {state.policy.designation_deadline_years} years of its first "
            f"subsidy ({subsidy.first_advance_on}); the deadline passed at "
            f"{messages.format_due(subsidy.s3_deadline_at) if subsidy.s3_deadline_at else 'its end'}, "
            "so it gets no further subsidy",
        )
    year = advance_year(act, now)
    this_year = local_date(now).year
    if not this_year <= year <= this_year + 1:
        raise Refusal("S2", "year", f"an advance is paid ahead, for this year ({this_year}) or the next "
                      f"({this_year + 1}), not for {year}")
    granted = subsidy.year(year)
    if granted is not None:
        raise Refusal("S2", "year", f"the {year} advance ({yuan_text(granted.advance_yuan)}) was already granted "
                      f"on {local_date(granted.granted_at)}; one advance per year")
    limit = state.policy.max_subsidy_years
    if len(subsidy.years) >= limit:
        raise Refusal("S1", "year", f"a single center is subsidized for at most {limit} years; "
                      f"already granted: {_years(state)}")


def advance_reservation(state: CenterState, act: GrantAdvance, now: datetime) -> FactRequest:
    """PD6: the cap is on all centers together, and S1, S2, S3, PD11, PD12 on the center across its
    lifecycles, so the database checks them and writes the advance in one locked transaction."""
    year = advance_year(act, now)
    entry = LedgerEntry(
        key=ledger_key(state, act.request_id, "advance"), center_id=state.center_id, year=year, kind="advance",
        amount_yuan=act.amount_yuan, actor=_actor(act), rule_id="S2", at=now, reference=act.payment_ref,
    )
    if state.rule_book_pd11:
        request = AdvanceRequestPD11(entry=entry, cap_yuan=state.policy.yearly_city_cap_yuan,
                                     max_years=state.policy.max_subsidy_years)
        return FactRequest("reserve_subsidy_advance", request, AdvanceReservation, "PD6", "amount_yuan",
                           f"S1 PD6 PD11 PD12 reserve the {year} advance in the ledger")
    return FactRequest(
        "reserve_advance", AdvanceRequest(entry=entry, cap_yuan=state.policy.yearly_city_cap_yuan), LedgerEntry,
        "PD6", "amount_yuan", f"PD6 reserve the {year} advance under the city's yearly cap",
    )


@action(
    "grant_advance", payload=GrantAdvance, rules=("S1", "S2", "S3", "PD5", "PD6"),
    roles={Role.CITY_BUREAU}, phases=ADVANCE_PHASES,
    description="S1 S2 S3 PD5 PD6: the city bureau grants a year's subsidy advance, within the yearly city cap",
    check=check_grant, facts=advance_reservation,
)
def decide_grant(
    state: CenterState, act: GrantAdvance, now: datetime, reserved: AdvanceReservation | LedgerEntry
) -> Decision:
    """S2: record the advance the ledger took (or refuse with the ledger's rule); PD13: it opens its
    settlement deadline; PD5: the first one starts the S3 designation deadline."""
    if isinstance(reserved, AdvanceReservation):
        if reserved.refusal is not None or reserved.entry is None:
            why = reserved.refusal
            raise Refusal(why.rule_id if why else "PD6", why.field if why else "amount_yuan",
                          why.message if why else "the ledger took no advance")
        entry = reserved.entry
    else:
        entry = reserved
    subsidy = state.subsidy
    subsidy.years.append(SubsidyYear(
        year=entry.year, advance_yuan=entry.amount_yuan, granted_at=now, granted_by=act.actor.name,
        payment_ref=act.payment_ref, ledger_key=entry.key,
    ))
    subsidy.years.sort(key=lambda y: y.year)
    rule_ids = ["S1", "S2", "PD6"]
    summary = f"{entry.year} advance of {yuan_text(entry.amount_yuan)} granted"
    if state.rule_book_pd11:
        settlement = open_settlement_deadline(state, entry.year, now)
        rule_ids += ["PD11", "PD12", "PD13"]
        summary += f"; to be settled by {messages.format_due(settlement.due_at)} (PD13)"
    deadline_zh = deadline_en = ""
    if subsidy.first_advance_on is None:
        subsidy.first_advance_on = local_date(now)
        if state.designation is None:
            deadline = _open_s3_deadline(state, now)
            rule_ids += ["S3", "PD5"]
            summary += f"; S3: to be designated by {messages.format_due(deadline.due_at)}"
            deadline_zh = (f"自首次补助之日起{state.policy.designation_deadline_years}年内须完成认定，"
                           f"截止时间：{messages.format_due(deadline.due_at)}。")
            deadline_en = (f" The center must be designated within {state.policy.designation_deadline_years} years of "
                           f"this first subsidy, by {messages.format_due(deadline.due_at)} (S3).")
    email = messages.compose(
        state, key=f"{act.request_id}:advance", to=messages.everyone(state), rule_id="S2",
        subject_zh=f"{entry.year}年度补助资金预拨", subject_en=f"{entry.year} subsidy advance",
        what_zh=f"市科技局预拨{entry.year}年度补助资金{yuan_zh(entry.amount_yuan)}（{act.payment_ref}）。{deadline_zh}",
        what_en=f"The city bureau advanced {yuan_text(entry.amount_yuan)} for {entry.year} ({act.payment_ref}).{deadline_en}",
        todo_zh="年度绩效评价后按评价结果清算，超出应得部分予以收回。",
        todo_en="After the performance assessment the year is settled; any excess over the amount due is clawed back.",
    )
    return Decision(state, summary, tuple(rule_ids), emails=[email], detail={
        "year": entry.year, "amount_yuan": str(entry.amount_yuan), "ledger_key": entry.key,
        "payment_ref": act.payment_ref,
    })


def _open_s3_deadline(state: CenterState, now: datetime) -> Deadline:
    """PD5, PD10: ``years`` years from the first advance (its day not counted), ending on the corresponding
    day (29 Feb -> 28 Feb) or the next working day, 24:00; provisional until the workflow settles it."""
    subsidy = state.subsidy
    assert subsidy.first_advance_on is not None
    years = state.policy.designation_deadline_years
    period = period_end(subsidy.first_advance_on, years=years)
    subsidy.s3_deadline_at = period.due_at
    # Outlives the end: a center rejected or withdrawn after an advance still has its unused
    # subsidy clawed back when the deadline passes (S3).
    return open_period(add_deadline(
        state, id=S3_DEADLINE, kind=S3_KIND, rule_id="S3", due_at=period.due_at, now=now,
        who_acts=Role.IMPLEMENTING_ENTITY, title_zh=f"首次补助后{years}年内完成认定",
        title_en=f"designation within {years} years of the first subsidy", outlives_end=True,
    ), period)


@when_designated
def close_s3_deadline(state: CenterState, now: datetime) -> list[Email]:
    """S3: designation in time meets the deadline; it never fires."""
    remove_deadline(state, S3_DEADLINE)
    return []


def settlement_id(year: int) -> str:
    return f"settlement-{year}"


def settlement_due_day(state: CenterState, year: int) -> date:
    """PD13: the settlement of year Y is due on ``policy.settlement_due`` (31 December) of Y+1."""
    due = state.policy.settlement_due
    return date(year + 1, due.month, due.day)


def open_settlement_deadline(state: CenterState, year: int, now: datetime) -> Deadline:
    """PD13: every advance opens a settlement deadline for the city bureau. It outlives the end of
    the lifecycle: a center that ends with unsettled years keeps them open until they are settled."""
    return add_deadline(
        state, id=settlement_id(year), kind=SETTLEMENT_KIND, rule_id="PD13",
        due_at=end_of_day(settlement_due_day(state, year)), now=now, who_acts=Role.CITY_BUREAU, ref=str(year),
        title_zh=f"{year}年度补助资金绩效清算", title_en=f"settlement of the {year} subsidy", outlives_end=True,
    )


def open_missing_settlements(state: CenterState, now: datetime) -> Decision | None:
    """PD13 for money advanced under the rules before PD11-PD17: a run that takes the new rules opens
    the settlement deadline of every year still unsettled (and not clawed back whole at an S3 lapse
    under the old rules). None when nothing is missing. ``state`` is a copy to change."""
    previous = state.model_copy(deep=True)
    years = [y.year for y in state.subsidy.years
             if not y.settled and state.deadline(settlement_id(y.year)) is None and state.subsidy.clawback(y.year) is None]
    if not years:
        return None
    for year in years:
        open_settlement_deadline(state, year, now)
    return settle(Decision(state, f"PD13: settlement deadlines opened for {', '.join(map(str, years))} "
                                  "(advanced before the rule took effect)", ("PD13",), event="pd13:settlements"), previous)


@on_due(SETTLEMENT_KIND)
def settlement_overdue(state: CenterState, deadline: Deadline, now: datetime) -> Decision:
    """PD13, PD9: a year not settled by its deadline stays open, overdue, for the bureau."""
    return mark_overdue(state, deadline, now)


@on_due(S3_KIND)
def s3_deadline_passes(state: CenterState, deadline: Deadline, now: datetime) -> Decision:
    """S3, PD5: not designated within 2 years of the first advance: no further advance (per center:
    the ledger's lapse entry, PD11). PD14: the bureau settles every unsettled year (the amount due is
    what was used) and the rest is clawed back then; nothing is clawed back without that finding.
    The center may still finish its designation procedure."""
    remove_deadline(state, deadline.id)
    subsidy = state.subsidy
    subsidy.s3_lapsed = True
    subsidy.s3_lapsed_at = now
    if state.rule_book_pd11:
        return _s3_lapse_needs_findings(state, deadline, now)
    ledger: list[LedgerEntry] = []
    clawbacks: list[Clawback] = []
    for year in subsidy.years:
        if year.settled or subsidy.clawback(year.year) is not None:
            continue
        clawback = _open_clawback(state, year.year, "S3", year.advance_yuan, now)
        clawbacks.append(clawback)
        ledger.append(LedgerEntry(
            key=ledger_key(state, deadline.id, str(year.year), "clawback"), center_id=state.center_id,
            year=year.year, kind="clawback", amount_yuan=year.advance_yuan, actor=SYSTEM, rule_id="S3", at=now,
            reference=f"S3 deadline {messages.format_due(deadline.due_at)}",
        ))
    total = sum((c.amount_yuan for c in clawbacks), ZERO)
    # An ended lifecycle (rejected, withdrawn) kept the deadline only to claw back what is unused.
    go_on = ("", "") if state.ended else ("可继续完成认定程序。", " The designation procedure may still be completed.")
    if clawbacks:
        due = clawbacks[0].due_on
        what_zh = (f"自首次补助起{state.policy.designation_deadline_years}年内未完成认定，不再给予补助，"
                   f"未使用的补助资金{yuan_zh(total)}予以收回（{', '.join(str(c.year) for c in clawbacks)}年度）。")
        what_en = (f"The center was not designated within {state.policy.designation_deadline_years} years of its "
                   f"first subsidy: no further subsidy, and the unused {yuan_text(total)} "
                   f"({', '.join(str(c.year) for c in clawbacks)}) is clawed back.")
        todo_zh = f"实施主体：请于{due} 24:00前退回上述资金；市科技局在系统中登记退回情况。{go_on[0]}"
        todo_en = f"Implementing entity: repay it by {due} 24:00; the city bureau records the repayment.{go_on[1]}"
        summary = f"S3 deadline passed undesignated; no further subsidy; {yuan_text(total)} clawed back"
    else:
        what_zh = (f"自首次补助起{state.policy.designation_deadline_years}年内未完成认定，不再给予补助；"
                   "各年度补助均已清算，无未使用资金需收回。")
        what_en = (f"The center was not designated within {state.policy.designation_deadline_years} years of its "
                   "first subsidy: no further subsidy. Every year was settled, so nothing unused is clawed back.")
        todo_zh = go_on[0] or "无需进一步操作。"
        todo_en = go_on[1].strip() or "Nothing more to do."
        summary = "S3 deadline passed undesignated; no further subsidy; nothing unused to claw back"
    email = messages.compose(
        state, key=f"{deadline.id}:lapsed", to=messages.everyone(state), rule_id="S3",
        subject_zh="认定期限届满，停止补助", subject_en="Designation deadline passed: subsidy stops",
        what_zh=what_zh, what_en=what_en, todo_zh=todo_zh, todo_en=todo_en,
        due_at=end_of_day(clawbacks[0].due_on) if clawbacks else None,
    )
    return Decision(state, summary, ("S3", "PD5"), emails=[email], ledger=list(ledger), detail={
        "clawbacks": {str(c.year): str(c.amount_yuan) for c in clawbacks},
    })


def _s3_lapse_needs_findings(state: CenterState, deadline: Deadline, now: datetime) -> Decision:
    """PD14: the lapse asks the bureau to settle each unsettled year; PD11: the ledger records the lapse."""
    subsidy = state.subsidy
    years = subsidy.years
    lapse = LedgerEntry(
        key=ledger_key(state, deadline.id, "lapse"), center_id=state.center_id, year=years[0].year if years else
        local_date(now).year, kind="lapse", amount_yuan=ZERO, actor=SYSTEM, rule_id="S3", at=now,
        reference=f"S3 deadline {messages.format_due(deadline.due_at)}",
    )
    unsettled = [y.year for y in years if not y.settled]
    listed = ", ".join(map(str, unsettled))
    limit = state.policy.designation_deadline_years
    go_on = ("", "") if state.ended else ("可继续完成认定程序。", " The designation procedure may still be completed.")
    if unsettled:
        what_zh = (f"自首次补助起{limit}年内未完成认定，不再给予补助。{listed}年度补助尚未清算：由市科技局评估"
                   "已使用金额作为应得金额，其余部分予以收回。")
        what_en = (f"The center was not designated within {limit} years of its first subsidy: no further subsidy. "
                   f"The years {listed} are not settled: the city bureau assesses what was used (the amount due) "
                   "and the rest is clawed back.")
        todo_zh = f"市科技局：对{listed}年度逐年清算（settle_subsidy）。{go_on[0]}"
        todo_en = f"City bureau: settle each of {listed} (settle_subsidy).{go_on[1]}"
    else:
        what_zh = f"自首次补助起{limit}年内未完成认定，不再给予补助；各年度补助均已清算。"
        what_en = (f"The center was not designated within {limit} years of its first subsidy: no further subsidy. "
                   "Every year is settled.")
        todo_zh, todo_en = go_on[0] or "无需进一步操作。", go_on[1].strip() or "Nothing more to do."
    email = messages.compose(
        state, key=f"{deadline.id}:lapsed", to=messages.everyone(state), rule_id="S3",
        subject_zh="认定期限届满，停止补助", subject_en="Designation deadline passed: subsidy stops",
        what_zh=what_zh, what_en=what_en, todo_zh=todo_zh, todo_en=todo_en,
    )
    return Decision(state, f"S3 deadline passed undesignated; no further subsidy; to settle: {listed or 'none'}",
                    ("S3", "PD5", "PD11", "PD14"), emails=[email], ledger=[lapse], detail={"unsettled": unsettled})


# -- settle_subsidy --------------------------------------------------------------------------------


def check_settle(state: CenterState, act: SettleSubsidy, now: datetime) -> None:
    """S2: a year with an advance is settled once; PD13: for at most its advance (a settlement never
    tops it up), from 1 January of the next year, or earlier once the lifecycle has ended (rejected,
    withdrawn, delisted, revoked, M3-cancelled) or S3 has lapsed (PD14)."""
    subsidy = state.subsidy
    year = subsidy.year(act.year)
    if year is None:
        raise Refusal("S2", "year", f"no advance was granted for {act.year} (granted: {_years(state)})")
    if year.settled:
        assert year.amount_due_yuan is not None and year.settled_at is not None
        raise Refusal("S2", "year", f"{act.year} was already settled on {local_date(year.settled_at)} "
                      f"({yuan_text(year.amount_due_yuan)} due)")
    clawback = subsidy.clawback(act.year)
    if clawback is not None and clawback.rule_id == "S3":  # a run begun before PD14 clawed back in full
        raise Refusal("S3", "year", f"the whole {act.year} advance was clawed back when the S3 deadline passed "
                      f"on {local_date(clawback.opened_at)}; the year can no longer be settled")
    opens = date(act.year + 1, 1, 1)
    if state.rule_book_pd11 and local_date(now) < opens and not (state.ended or subsidy.s3_lapsed):
        raise Refusal("PD13", "year", f"the {act.year} settlement can be recorded from {opens}, once the year is "
                      "over (earlier only when the lifecycle has ended or S3 has lapsed)")
    if act.amount_due_yuan > year.advance_yuan:
        raise Refusal("S2", "amount_due_yuan", f"the amount due cannot exceed the {act.year} advance of "
                      f"{yuan_text(year.advance_yuan)}: the settlement fixes what of the advance is kept")


@action(
    "settle_subsidy", payload=SettleSubsidy, rules=("S2", "PD13", "PD14"), roles={Role.CITY_BUREAU}, phases=None,
    description="S2 PD13 PD14: the performance assessment fixes a year's amount due; any excess is clawed back",
    check=check_settle,
)
def decide_settle(state: CenterState, act: SettleSubsidy, now: datetime, _: None) -> Decision:
    """S2: the settlement and, for an advance beyond the amount due, a clawback owed by the center
    with a due date ``policy.clawback_due_days`` days ahead; both go to the ledger."""
    year = state.subsidy.year(act.year)
    assert year is not None
    year.amount_due_yuan, year.settled_at, year.assessment_ref = act.amount_due_yuan, now, act.assessment_ref
    remove_deadline(state, settlement_id(act.year))
    rule = "S3" if state.subsidy.s3_lapsed and state.designation is None else "S2"  # PD14: the unused after a lapse
    common = dict(center_id=state.center_id, year=act.year, actor=_actor(act), rule_id="S2", at=now,
                  reference=act.assessment_ref)
    ledger = [LedgerEntry(key=ledger_key(state, act.request_id, "settlement"), kind="settlement",
                          amount_yuan=act.amount_due_yuan, **common)]
    excess = year.advance_yuan - act.amount_due_yuan
    summary = f"{act.year} settled: {yuan_text(act.amount_due_yuan)} due of {yuan_text(year.advance_yuan)} advanced"
    if excess > 0:
        clawback = _open_clawback(state, act.year, rule, excess, now)
        ledger.append(LedgerEntry(key=ledger_key(state, act.request_id, "clawback"), kind="clawback",
                                  amount_yuan=excess, **(common | {"rule_id": rule})))
        summary += f"; {yuan_text(excess)} clawed back, due {clawback.due_on}"
        what_zh = (f"{act.year}年度绩效评价（{act.assessment_ref}）核定应得补助{yuan_zh(act.amount_due_yuan)}，"
                   f"已预拨{yuan_zh(year.advance_yuan)}，超出部分{yuan_zh(excess)}予以收回。")
        what_en = (f"The {act.year} performance assessment ({act.assessment_ref}) fixed {yuan_text(act.amount_due_yuan)} "
                   f"due of the {yuan_text(year.advance_yuan)} advanced; the excess of {yuan_text(excess)} is clawed back.")
        todo_zh = f"实施主体：请于{clawback.due_on} 24:00前退回；市科技局在系统中登记退回情况。"
        todo_en = f"Implementing entity: repay it by {clawback.due_on} 24:00; the city bureau records the repayment."
        due_at = end_of_day(clawback.due_on)
    else:
        what_zh = (f"{act.year}年度绩效评价（{act.assessment_ref}）核定应得补助"
                   f"{yuan_zh(act.amount_due_yuan)}，与预拨金额一致。")
        what_en = (f"The {act.year} performance assessment ({act.assessment_ref}) fixed {yuan_text(act.amount_due_yuan)} "
                   "due, the whole advance.")
        todo_zh, todo_en, due_at = "无需退回。", "Nothing to repay.", None
    email = messages.compose(
        state, key=f"{act.request_id}:settled", to=messages.everyone(state), rule_id="S2",
        subject_zh=f"{act.year}年度补助资金清算", subject_en=f"{act.year} subsidy settlement",
        what_zh=what_zh, what_en=what_en, todo_zh=todo_zh, todo_en=todo_en, due_at=due_at,
    )
    return Decision(state, summary, ("S2",), emails=[email], ledger=list(ledger), detail={
        "year": act.year, "amount_due_yuan": str(act.amount_due_yuan), "advance_yuan": str(year.advance_yuan),
        "clawback_yuan": str(excess), "assessment_ref": act.assessment_ref,
    })


# -- clawbacks and repayments ----------------------------------------------------------------------


def _open_clawback(state: CenterState, year: int, rule_id: str, amount: Decimal, now: datetime) -> Clawback:
    """S2, S3: a clawback owed by the center, repayable within ``policy.clawback_due_days`` days
    (product decision); its deadline outlives the end of the lifecycle."""
    due_on = local_date(now) + timedelta(days=state.policy.clawback_due_days)
    clawback = Clawback(id=f"clawback-{year}", year=year, rule_id=rule_id, amount_yuan=amount, opened_at=now,
                        due_on=due_on)
    state.subsidy.clawbacks.append(clawback)
    add_deadline(
        state, id=clawback.id, kind=CLAWBACK_KIND, rule_id=rule_id, due_at=end_of_day(due_on), now=now,
        who_acts=Role.IMPLEMENTING_ENTITY, ref=str(year), outlives_end=True,
        title_zh=f"退回{year}年度补助资金{yuan_zh(clawback.amount_yuan)}",
        title_en=f"repay the {year} subsidy clawback of {yuan_text(clawback.amount_yuan)}",
    )
    return clawback


def _open_clawback_for(state: CenterState, year: int) -> Clawback:
    clawback = state.subsidy.clawback(year)
    if clawback is None or not clawback.open:
        open_years = ", ".join(str(c.year) for c in state.subsidy.open_clawbacks) or "none"
        raise Refusal("S2", "year", f"no open clawback for {year} (open: {open_years})")
    return clawback


def check_repayment(state: CenterState, act: RecordRepayment, now: datetime) -> None:
    """S2, S3: a repayment goes against an open clawback, for at most what is outstanding."""
    clawback = _open_clawback_for(state, act.year)
    if act.amount_yuan > clawback.outstanding_yuan:
        raise Refusal(clawback.rule_id, "amount_yuan", f"only {yuan_text(clawback.outstanding_yuan)} is outstanding "
                      f"on the {act.year} clawback")


@action(
    "record_repayment", payload=RecordRepayment, rules=("S2", "S3"), roles={Role.CITY_BUREAU}, phases=None,
    description="S2 S3: the city bureau records a repayment of a clawback; repaid in full, it is closed",
    check=check_repayment,
)
def decide_repayment(state: CenterState, act: RecordRepayment, now: datetime, _: None) -> Decision:
    clawback = _open_clawback_for(state, act.year)
    clawback.repaid_yuan += act.amount_yuan
    entry = LedgerEntry(
        key=ledger_key(state, act.request_id, "repayment"), center_id=state.center_id, year=act.year,
        kind="repayment", amount_yuan=act.amount_yuan, actor=_actor(act), rule_id=clawback.rule_id, at=now,
        reference=act.receipt_ref,
    )
    if clawback.outstanding_yuan == 0:
        clawback.closed_at = now
        remove_deadline(state, clawback.id)
        summary = f"{act.year} clawback repaid in full ({yuan_text(clawback.amount_yuan)})"
        what_zh = f"{act.year}年度收回资金{yuan_zh(clawback.amount_yuan)}已全部退回（{act.receipt_ref}）。"
        what_en = f"The {act.year} clawback of {yuan_text(clawback.amount_yuan)} is repaid in full ({act.receipt_ref})."
        todo_zh, todo_en, due_at = "无需进一步操作。", "Nothing more to do.", None
    else:
        summary = (f"{yuan_text(act.amount_yuan)} repaid on the {act.year} clawback; "
                   f"{yuan_text(clawback.outstanding_yuan)} outstanding")
        what_zh = (f"已退回{act.year}年度收回资金{yuan_zh(act.amount_yuan)}（{act.receipt_ref}），"
                   f"尚欠{yuan_zh(clawback.outstanding_yuan)}。")
        what_en = (f"{yuan_text(act.amount_yuan)} of the {act.year} clawback was repaid ({act.receipt_ref}); "
                   f"{yuan_text(clawback.outstanding_yuan)} is outstanding.")
        todo_zh = f"实施主体：请于{clawback.due_on} 24:00前退回余款。"
        todo_en = f"Implementing entity: repay the rest by {clawback.due_on} 24:00."
        due_at = end_of_day(clawback.due_on)
    email = messages.compose(
        state, key=f"{act.request_id}:repaid", to=messages.everyone(state),
        rule_id=clawback.rule_id, subject_zh=f"{act.year}年度收回资金退回登记", subject_en=f"{act.year} clawback repayment",
        what_zh=what_zh, what_en=what_en, todo_zh=todo_zh, todo_en=todo_en, due_at=due_at,
    )
    return Decision(state, summary, (clawback.rule_id,), emails=[email], ledger=[entry], detail={
        "year": act.year, "amount_yuan": str(act.amount_yuan), "outstanding_yuan": str(clawback.outstanding_yuan),
        "receipt_ref": act.receipt_ref,
    })


@on_due(CLAWBACK_KIND)
def clawback_overdue(state: CenterState, deadline: Deadline, now: datetime) -> Decision:
    """S2, S3, PD9: a clawback not repaid by its due day stays owed, marked overdue, and people are told."""
    return mark_overdue(state, deadline, now)
