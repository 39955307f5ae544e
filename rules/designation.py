"""Designation procedure: application, county review, city evaluation, notice, designation (D3-D7, PD7, PD16, PD17).

Each action is registered with its rule IDs; ``check_*`` refuse with the field and the rule,
``decide_*`` return the new state and its effects. Pure: no I/O, no clock but ``now``.

PD16: the notice ending with no open objection opens a deadline for the bureau to issue the
designation document (``issue_designation``); an objection still open at its end becomes a deadline
for the bureau to resolve. A notice published by a run begun before the patch
``pd1x-rule-book-pd11-pd17`` (``Notice.automatic_designation``) still designates by itself.
Reapplying: a lifecycle that ended before designation (rejected, withdrawn) and still runs for its
money (S3, PD13) returns to the procedure on a new application (docs/decisions.md).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from models.calendar import NoticeEndRequest
from models.designation import Application, CityEvaluation, CountyReview, Designation, Notice, Objection
from models.designation_actions import (
    NAME_PREFIX, NAME_SUFFIX, Evidence, FileObjection, IssueDesignation, LeadUnitKind, NameQuery, PublishNotice,
    RecordCityEvaluation, RecordCountyReview, ResolveObjection, SubmitApplication, Withdraw,
)
from models.directory import Role
from models.effects import Ban, BanQuery
from rules.periods import ban_end_text
from models.phase import BEFORE_DESIGNATION, Phase
from models.state import CenterState, Deadline
from rules import messages
from rules.agenda import add_deadline, mark_overdue, remove_deadline
from rules.calendar import end_of_day, local_date
from rules.engine import ON_DESIGNATED, Decision, FactRequest, Refusal, action, end_lifecycle, next_id, on_due

ANYONE = {Role.PUBLIC, Role.IMPLEMENTING_ENTITY, Role.COUNTY_DEPARTMENT, Role.CITY_BUREAU}
NOTICE_END = "notice-end"
DESIGNATION_DOCUMENT = "designation-document"
DOCUMENT_KIND = "designation_document"
OBJECTIONS_OPEN = "objections-open"
OBJECTIONS_KIND = "objections_open"
REAPPLY_FROM = frozenset({Phase.REJECTED, Phase.WITHDRAWN})  # ended before designation
GOVERNMENT_BODY = "11"  # GB 32100-2015: registration authority 1 (机构编制), organisation type 1 (机关)


def _unmet(prefix: str, model: object) -> str | None:
    """The dotted path of the first condition not met in a checklist section."""
    if isinstance(model, Evidence):
        return None if model.met else prefix
    for name in type(model).model_fields:  # type: ignore[attr-defined]
        value = getattr(model, name)
        if isinstance(value, (Evidence,)) or hasattr(type(value), "model_fields"):
            found = _unmet(f"{prefix}.{name}", value)
            if found:
                return found
    return None


def check_application(state: CenterState, act: SubmitApplication, now: datetime) -> None:
    """D3: all five conditions met; D4: the integrity commitment letter is mandatory; PD17: signed by
    the lead unit, dated no later than the application, with the construction plan; a lead unit of
    another kind waits for the bureau's exception at the city evaluation."""
    kind = act.checklist.lead_unit_kind
    if kind is LeadUnitKind.OTHER and not state.rule_book_pd11:
        raise Refusal("D3", "checklist.lead_unit_kind", "the lead unit must be a city or county government, "
                      "or a county government jointly with city departments and independent legal persons")
    if state.rule_book_pd11 and kind is not LeadUnitKind.OTHER:
        check_lead_unit_code(state)
    missing = _unmet("checklist", act.checklist)
    if missing:
        # PD8: the look-back of D3 (5) is policy data, so the message says the frozen policy's number.
        years = (f" (no serious illegal or dishonest conduct in the last {state.policy.compliance_lookback_years} "
                 "years)") if missing.endswith("no_serious_violation_last_3_years") else ""
        raise Refusal("D3", missing, f"this eligibility condition is not met{years}; all five conditions of D3 are "
                      "required")
    if act.commitment_letter is None:
        raise Refusal("D4", "commitment_letter", "the lead unit's integrity commitment letter (诚信承诺书) is mandatory")
    if state.rule_book_pd11:
        check_pd17_letter_and_plan(state, act, now)
        if kind is LeadUnitKind.COUNTY_GOVERNMENT_JOINT and not state.profile.partners:
            raise Refusal("M6", "checklist.lead_unit_kind", "a county government jointly with other units names its "
                          "partners in the profile, each with a signed cooperation agreement; this center has none")
    check_partner_agreements(state, act)


def check_lead_unit_code(state: CenterState) -> None:
    """D3 (1): a city or county government lead unit is a government body: its unified social credit
    code starts with 1 (机构编制) and 1 (机关), not e.g. 91 (an enterprise)."""
    lead = state.profile.lead_unit
    if lead.credit_code[:2] != GOVERNMENT_BODY:
        raise Refusal("D3", "checklist.lead_unit_kind", f"the lead unit {lead.name} is declared a government, but its "
                      f"credit code {lead.credit_code} is not a government body's (organisation type "
                      f"{lead.credit_code[:2]}, a government's is {GOVERNMENT_BODY})")


def check_pd17_letter_and_plan(state: CenterState, act: SubmitApplication, now: datetime) -> None:
    """PD17: the lead unit signs the letter, dated no later than the application; the construction
    plan (建设方案, M7) is among the materials."""
    letter = act.commitment_letter
    assert letter is not None
    lead = state.profile.lead_unit
    if letter.signed_by.strip() not in (lead.name, lead.credit_code):
        raise Refusal("PD17", "commitment_letter.signed_by", f"the integrity commitment letter is signed by the lead "
                      f"unit {lead.name} ({lead.credit_code}), not {letter.signed_by}")
    if letter.signed_on > local_date(now):
        raise Refusal("PD17", "commitment_letter.signed_on", f"the letter is dated {letter.signed_on}, after the "
                      f"application ({local_date(now)}); it must be signed no later than the application")
    if not act.construction_plan:
        raise Refusal("PD17", "construction_plan", "the construction plan (建设方案, M7) is required with the "
                      "application")


def check_partner_agreements(state: CenterState, act: SubmitApplication) -> None:
    """M6: a center formed by several units has a signed cooperation agreement with each partner."""
    for partner in state.profile.partners:
        if partner.credit_code not in act.partner_agreements:
            raise Refusal("M6", f"partner_agreements.{partner.credit_code}",
                          f"no signed cooperation agreement with partner {partner.name}")


def ban_query(state: CenterState, act: SubmitApplication, now: datetime) -> FactRequest:
    """PD7: the bans registry is in PostgreSQL, so an activity looks it up."""
    query = BanQuery(
        implementing_entity_code=state.profile.implementing_entity.credit_code,
        lead_unit_code=state.profile.lead_unit.credit_code,
        field=state.profile.field.value,
        on=local_date(now),
    )
    return FactRequest("find_active_bans", query, list[Ban], "PD7", "implementing_entity", "PD7 bans registry lookup")


@action(
    "submit_application", payload=SubmitApplication, rules=("D3", "D4", "M6", "PD7", "PD17"),
    roles={Role.IMPLEMENTING_ENTITY}, phases={Phase.PREPARING, *REAPPLY_FROM},
    description="D3 D4 M6 PD7 PD17: the implementing entity applies with the five-condition checklist, the lead "
                "unit's integrity commitment letter and the construction plan",
    check=check_application, facts=ban_query,
)
def decide_application(state: CenterState, act: SubmitApplication, now: datetime, bans: list[Ban]) -> Decision:
    """PD7: an application inside a ban is refused with the date the ban ends."""
    if bans:
        ban = max(bans, key=lambda b: b.ends_on)
        who = "implementing_entity" if ban.subject_kind == "implementing_entity" else "lead_unit"
        raise Refusal("PD7", f"{who}.credit_code",
                      f"{ban.subject_name} is barred from applying until {ban_end_text(ban)} "
                      f"({ban.rule_id}: {ban.reason})")
    assert act.commitment_letter is not None
    reapplied = state.phase in REAPPLY_FROM
    if reapplied:  # back into the procedure; the money and its deadlines (S3, PD13) stay with this lifecycle
        state.county_review = state.city_evaluation = state.notice = None
        state.objections = []
        state.ended_at = state.end_reason = None
    state.application = Application(submitted_at=now, submitted_by=act.actor.name,
                                    commitment_letter_ref=act.commitment_letter.document_ref,
                                    lead_unit_kind=act.checklist.lead_unit_kind.value,
                                    construction_plan_ref=act.construction_plan)
    state.phase = Phase.COUNTY_REVIEW
    email = messages.compose(
        state, key=f"{act.request_id}:applied", to=messages.contacts(state) + messages.county(state),
        rule_id="D4", subject_zh="认定申请已受理", subject_en="Application received",
        what_zh="认定申请及诚信承诺书已提交，等待县（区、功能区）科技部门审核推荐。",
        what_en="The application and integrity commitment letter were submitted; the county department reviews it next.",
        todo_zh="县（区、功能区）科技部门：审核运营状态、信用情况及材料真实性，并作出是否推荐的决定。",
        todo_en="County department: check operating status, credit and the materials, then recommend or not.",
    )
    return Decision(state, "application submitted" + (" again, after the procedure ended" if reapplied else ""),
                    ("D3", "D4", "PD7", "PD17"), emails=[email],
                    detail={"checklist": act.checklist.model_dump(mode="json"), "materials": act.materials})


def check_county_review(state: CenterState, act: RecordCountyReview, now: datetime) -> None:
    """D5: a recommendation needs every finding to be in order."""
    if act.recommend:
        for name in ("operating_status", "credit", "materials_authentic"):
            if not getattr(act, name).ok:
                raise Refusal("D5", name, f"cannot recommend while the {name} finding is not in order")


@action(
    "record_county_review", payload=RecordCountyReview, rules=("D5",),
    roles={Role.COUNTY_DEPARTMENT}, phases={Phase.COUNTY_REVIEW},
    description="D5: the center's own county department records its review and recommends or not",
    check=check_county_review,
)
def decide_county_review(state: CenterState, act: RecordCountyReview, now: datetime, _: None) -> Decision:
    state.county_review = CountyReview(at=now, reviewer=act.actor.name, recommend=act.recommend, reasons=act.reasons)
    if act.recommend:
        state.phase = Phase.CITY_EVALUATION
        what = ("县（区、功能区）科技部门已推荐，进入市级综合评审。", "The county department recommended the center; the city evaluation is next.")
        todo = ("市科技局：组织专家或第三方机构综合评审。", "City bureau: have experts or a third party run the comprehensive review.")
        summary = "county department recommended"
    else:
        end_lifecycle(state, Phase.REJECTED, now, f"D5: not recommended by the county department: {act.reasons}")
        what = (f"县（区、功能区）科技部门未予推荐：{act.reasons}", f"The county department did not recommend the center: {act.reasons}")
        todo = ("如有疑问请联系县（区、功能区）科技部门。", "Ask the county department if anything is unclear.")
        summary = "county department did not recommend; rejected"
    email = messages.compose(
        state, key=f"{act.request_id}:county", to=messages.everyone(state), rule_id="D5",
        subject_zh="县级审核结果", subject_en="County review result",
        what_zh=what[0], what_en=what[1], todo_zh=todo[0], todo_en=todo[1],
    )
    return Decision(state, summary, ("D5",), emails=[email], detail=act.model_dump(mode="json", exclude={"actor"}))


def check_city_evaluation(state: CenterState, act: RecordCityEvaluation, now: datetime) -> None:
    """D6: one comprehensive review per application, dated no later than today."""
    if state.city_evaluation is not None:
        raise Refusal("D6", "phase", "the city evaluation of this application is already recorded")
    if act.evaluated_on and act.evaluated_on > local_date(now):
        raise Refusal("D6", "evaluated_on", "the review report cannot be dated in the future")
    reviewed_on = local_date(state.county_review.at) if state.county_review else None
    if state.rule_book_pd11 and act.evaluated_on and reviewed_on and act.evaluated_on < reviewed_on:
        raise Refusal("D6", "evaluated_on", f"the evaluation cannot be dated before the county review of "
                      f"{reviewed_on}: each step follows the one before it")
    application = state.application
    if (act.propose and application is not None and application.lead_unit_kind == LeadUnitKind.OTHER.value
            and not act.lead_unit_exception):
        raise Refusal("PD17", "lead_unit_exception", "the lead unit is not of the admissible kinds of D3 (1); the "
                      "bureau proposes it only with an exception it records here (原则上)")


@action(
    "record_city_evaluation", payload=RecordCityEvaluation, rules=("D6", "PD17"),
    roles={Role.CITY_BUREAU}, phases={Phase.CITY_EVALUATION},
    description="D6: the bureau records the experts' or third party's score, opinion and proposal",
    check=check_city_evaluation,
)
def decide_city_evaluation(state: CenterState, act: RecordCityEvaluation, now: datetime, _: None) -> Decision:
    state.city_evaluation = CityEvaluation(
        at=now, on=act.evaluated_on or local_date(now), evaluator=f"{act.evaluator_kind}: {act.evaluator}",
        score=act.score, propose=act.propose, opinion=act.opinion, lead_unit_exception=act.lead_unit_exception)
    if act.propose:
        summary = f"proposed for designation (score {act.score:g})"
        what = (f"市级综合评审建议认定（评分 {act.score:g}），待公示。", f"The comprehensive review proposes designation (score {act.score:g}); the public notice is next.")
        todo = ("市科技局：审定后发布公示。", "City bureau: approve the list and publish the notice.")
    else:
        end_lifecycle(state, Phase.REJECTED, now, f"D6: not proposed by the comprehensive review: {act.opinion}")
        summary = "not proposed by the comprehensive review; rejected"
        what = (f"市级综合评审未建议认定：{act.opinion}", f"The comprehensive review does not propose designation: {act.opinion}")
        todo = ("如有疑问请联系市科技局。", "Ask the city bureau if anything is unclear.")
    email = messages.compose(
        state, key=f"{act.request_id}:evaluation", to=messages.everyone(state), rule_id="D6",
        subject_zh="市级综合评审结果", subject_en="City evaluation result",
        what_zh=what[0], what_en=what[1], todo_zh=todo[0], todo_en=todo[1],
    )
    return Decision(state, summary, ("D6",), emails=[email], detail=act.model_dump(mode="json", exclude={"actor"}))


def published_on(act: PublishNotice, now: datetime) -> date:
    """D7: the notice's first day as given, or the day it is recorded."""
    return act.published_on or local_date(now)


def check_publish(state: CenterState, act: PublishNotice, now: datetime) -> None:
    """D7: only a proposed center is noticed; the date is neither before the evaluation nor far ahead."""
    evaluation = state.city_evaluation
    if evaluation is None or not evaluation.propose:
        raise Refusal("D7", "phase", "only a center proposed by the city evaluation (D6) can be publicly noticed")
    if published_on(act, now) < evaluation.on:
        raise Refusal("D7", "published_on", f"the notice cannot start before the evaluation of {evaluation.on}")
    ahead = state.policy.notice_max_days_ahead
    if published_on(act, now) > local_date(now) + timedelta(days=ahead):
        raise Refusal("D7", "published_on", f"the notice cannot be scheduled more than {ahead} days ahead")


def notice_end_request(state: CenterState, act: PublishNotice, now: datetime) -> FactRequest:
    """PD2: the working-day calendar is data that changes yearly, so an activity computes the end."""
    request = NoticeEndRequest(published_on=published_on(act, now), working_days=state.policy.notice_working_days)
    return FactRequest("compute_notice_end", request, datetime, "PD2", "published_on", "D7 PD2 compute notice end")


@action(
    "publish_notice", payload=PublishNotice, rules=("D7", "PD2"),
    roles={Role.CITY_BUREAU}, phases={Phase.CITY_EVALUATION},
    description="D7 PD2: publish the proposed designation for the policy's number of working days",
    check=check_publish, facts=notice_end_request,
)
def decide_publish(state: CenterState, act: PublishNotice, now: datetime, ends_at: datetime) -> Decision:
    late = state.rule_book_pd11 and ends_at <= now
    if late and not act.recorded_late:
        raise Refusal("D7", "recorded_late", f"this notice ended at {messages.format_due(ends_at)}, before it was "
                      "recorded: give the reason it is recorded late (objections received meanwhile can then be "
                      "entered with the day they arrived)")
    state.notice = Notice(published_on=published_on(act, now), ends_at=ends_at, reference=act.reference,
                          automatic_designation=not state.rule_book_pd11)
    state.phase = Phase.PUBLIC_NOTICE
    add_deadline(state, id=NOTICE_END, kind="notice_end", rule_id="D7", due_at=ends_at, now=now,
                 who_acts=Role.CITY_BUREAU, title_zh="公示期结束", title_en="public notice ends", reminders=False)
    email = messages.compose(
        state, key=f"{act.request_id}:notice", to=messages.everyone(state), rule_id="D7",
        subject_zh="认定公示", subject_en="Public notice",
        what_zh=f"拟认定名单已公示（{act.reference}），公示期{state.policy.notice_working_days}个工作日。",
        what_en=f"The proposed designation is publicly noticed ({act.reference}) for "
                f"{state.policy.notice_working_days} working days.",
        todo_zh="对公示有异议的，请在公示期内向市科技局提出。" + (f"（补录说明：{act.recorded_late}）" if late else ""),
        todo_en="Objections must reach the city bureau before the notice ends."
                + (f" (Recorded late: {act.recorded_late})" if late else ""),
        due_at=ends_at,
    )
    summary = f"notice published, ends {messages.format_due(ends_at)}"
    summary += f"; recorded late: {act.recorded_late}" if late else ""
    return Decision(state, summary, ("D7", "PD2"), emails=[email],
                    detail={"recorded_late": act.recorded_late} if late else {})


# A bound, not a rule: the state (and every answer that carries it) must stay far below Temporal's
# payload limit, whatever the public sends. Each objection keeps at most 2,000 characters of grounds.
MAX_OBJECTIONS_PER_NOTICE = 30


def check_objection(state: CenterState, act: FileObjection, now: datetime) -> None:
    """D7: objections are taken only while the notice runs: not after it ends, nor before the day it
    is published (a notice may be published ahead); at most MAX_OBJECTIONS_PER_NOTICE."""
    assert state.notice is not None
    if act.received_on is not None and state.rule_book_pd11:
        _check_received_offline(state, act, now)
        return
    if state.rule_book_pd11 and local_date(now) < state.notice.published_on:
        raise Refusal("D7", "notice", f"the notice is published on {state.notice.published_on}; objections are "
                      "taken from then until it ends")
    if len(state.objections) >= MAX_OBJECTIONS_PER_NOTICE:
        raise Refusal("D7", "objection", f"this notice already holds {MAX_OBJECTIONS_PER_NOTICE} objections, the most "
                      "the system records; send further objections to the city bureau in writing")
    if state.notice.ended or now >= state.notice.ends_at:
        raise Refusal("D7", "notice", f"the notice ended at {messages.format_due(state.notice.ends_at)}; "
                      "objections are taken only while it runs")


def _check_received_offline(state: CenterState, act: FileObjection, now: datetime) -> None:
    """D7: an objection that reached the bureau in writing during the notice is entered by the bureau,
    with the day it arrived, even after the notice ended, as long as the designation is not issued."""
    assert state.notice is not None and act.received_on is not None
    if act.actor.role is not Role.CITY_BUREAU:
        raise Refusal("D7", "received_on", "only the city bureau enters an objection it received offline")
    last_day = local_date(state.notice.ends_at - timedelta(seconds=1))
    if not state.notice.published_on <= act.received_on <= min(last_day, local_date(now)):
        raise Refusal("D7", "received_on", f"an objection counts if it arrived during the notice, "
                      f"{state.notice.published_on} to {last_day}; not {act.received_on}")
    if len(state.objections) >= MAX_OBJECTIONS_PER_NOTICE:
        raise Refusal("D7", "objection", f"this notice already holds {MAX_OBJECTIONS_PER_NOTICE} objections")


@action(
    "file_objection", payload=FileObjection, rules=("D7",), roles=ANYONE, phases={Phase.PUBLIC_NOTICE},
    description="D7: anyone named files an objection while the notice runs",
    check=check_objection,
)
def decide_objection(state: CenterState, act: FileObjection, now: datetime, _: None) -> Decision:
    objection = Objection(id=next_id(state, "objection"), filed_at=now, objector=act.objector, grounds=act.grounds)
    state.objections.append(objection)
    email = messages.compose(
        state, key=f"{act.request_id}:objection", to=messages.city(state), rule_id="D7",
        subject_zh="公示异议", subject_en="Objection to the notice",
        what_zh=f"{act.objector} 对公示提出异议（{objection.id}）：{act.grounds}",
        what_en=f"{act.objector} objects to the notice ({objection.id}): {act.grounds}",
        todo_zh="市科技局：核实处理后在系统中记录处理结果；处理前不予认定。",
        todo_en="City bureau: verify it and record the outcome; the designation waits for it.",
    )
    decision = Decision(state, f"objection {objection.id} filed by {act.objector}"
                               + (f" (received offline on {act.received_on})" if act.received_on else ""),
                        ("D7",), emails=[email])
    if state.notice and state.notice.ended and not state.notice.automatic_designation:
        remove_deadline(state, DESIGNATION_DOCUMENT)  # PD16: the document waits for the objection
        if state.deadline(OBJECTIONS_OPEN) is None:
            _await_objections(decision, [objection.id], now)
    return decision


def _open_objection(state: CenterState, objection_id: str) -> Objection:
    found = next((o for o in state.objections if o.id == objection_id and o.status == "open"), None)
    if found is None:
        open_ids = ", ".join(o.id for o in state.objections if o.status == "open") or "none"
        raise Refusal("D7", "objection_id", f"no open objection {objection_id!r} (open: {open_ids})")
    return found


@action(
    "resolve_objection", payload=ResolveObjection, rules=("D7",), roles={Role.CITY_BUREAU},
    phases={Phase.PUBLIC_NOTICE},
    description="D7: the bureau upholds (application rejected) or dismisses an objection",
    check=lambda state, act, now: _open_objection(state, act.objection_id) and None,
)
def decide_resolve(state: CenterState, act: ResolveObjection, now: datetime, _: None) -> Decision:
    objection = _open_objection(state, act.objection_id)
    objection.status, objection.finding, objection.resolved_at = act.outcome, act.finding, now
    if act.outcome == "upheld":
        end_lifecycle(state, Phase.REJECTED, now, f"D7: objection {objection.id} upheld: {act.finding}")
        email = messages.compose(
            state, key=f"{act.request_id}:upheld", to=messages.everyone(state), rule_id="D7",
            subject_zh="异议成立，不予认定", subject_en="Objection upheld: not designated",
            what_zh=f"经核实，异议成立：{act.finding}", what_en=f"The objection was verified and upheld: {act.finding}",
            todo_zh="如有疑问请联系市科技局。", todo_en="Ask the city bureau if anything is unclear.",
        )
        return Decision(state, f"objection {objection.id} upheld; rejected", ("D7",), emails=[email])
    decision = Decision(state, f"objection {objection.id} dismissed", ("D7",))
    if state.notice and state.notice.ended and not any(o.status == "open" for o in state.objections):
        if state.notice.automatic_designation:
            _designate(decision, now, local_date(now))
        else:
            remove_deadline(state, OBJECTIONS_OPEN)
            _await_document(decision, now)
    return decision


@action(
    "withdraw", payload=Withdraw, rules=("D4",), roles={Role.IMPLEMENTING_ENTITY}, phases=set(BEFORE_DESIGNATION),
    description="The implementing entity withdraws before designation",
    check=lambda state, act, now: None,
)
def decide_withdraw(state: CenterState, act: Withdraw, now: datetime, _: None) -> Decision:
    end_lifecycle(state, Phase.WITHDRAWN, now, f"withdrawn: {act.reason}")
    email = messages.compose(
        state, key=f"{act.request_id}:withdrawn", to=messages.everyone(state), rule_id="D4",
        subject_zh="已撤回", subject_en="Withdrawn",
        what_zh=f"实施主体已撤回：{act.reason}", what_en=f"The implementing entity withdrew: {act.reason}",
        todo_zh="无需进一步操作。", todo_en="Nothing more to do.",
    )
    return Decision(state, "withdrawn", ("D4",), emails=[email])


@on_due("notice_end")
def notice_ends(state: CenterState, deadline: Deadline, now: datetime) -> Decision:
    """D7, PD16: with no open objection the bureau issues the designation document (a deadline for
    it); an open objection holds the designation and becomes a deadline for the bureau to resolve."""
    assert state.notice is not None
    state.notice.ended = True
    remove_deadline(state, deadline.id)
    open_ids = [o.id for o in state.objections if o.status == "open"]
    if not state.notice.automatic_designation:
        decision = Decision(state, "notice ended", ("D7", "PD16"))
        if open_ids:
            _await_objections(decision, open_ids, now)
        else:
            _await_document(decision, now)
        return decision
    if open_ids:
        email = messages.compose(
            state, key=f"notice-held", to=messages.city(state), rule_id="D7",
            subject_zh="公示期满，存在未处理异议", subject_en="Notice ended with an open objection",
            what_zh=f"公示期已满，异议 {', '.join(open_ids)} 尚未处理，认定暂缓。",
            what_en=f"The notice ended with objection(s) {', '.join(open_ids)} open; the designation waits.",
            todo_zh="市科技局：核实并记录异议处理结果。", todo_en="City bureau: verify and record the outcome.",
        )
        return Decision(state, "notice ended; designation held by open objection", ("D7",), emails=[email])
    decision = Decision(state, "notice ended without objection", ("D7",))
    _designate(decision, now, local_date(deadline.due_at))
    return decision


def _bureau_deadline(state: CenterState, now: datetime, id: str, kind: str, title_zh: str, title_en: str) -> Deadline:
    """PD16: a deadline for the city bureau, ``policy.designation_document_days`` from now, with reminders."""
    due_at = end_of_day(local_date(now) + timedelta(days=state.policy.designation_document_days))
    return add_deadline(state, id=id, kind=kind, rule_id="PD16", due_at=due_at, now=now, who_acts=Role.CITY_BUREAU,
                        title_zh=title_zh, title_en=title_en)


def _await_document(decision: Decision, now: datetime) -> None:
    """PD16: the notice is over with no open objection: the bureau issues the designation document."""
    state = decision.state
    deadline = _bureau_deadline(state, now, DESIGNATION_DOCUMENT, DOCUMENT_KIND, "印发认定文件",
                                "issue the designation document")
    decision.summary += f"; designation document due by {messages.format_due(deadline.due_at)}"
    decision.rule_ids += ("PD16",)
    decision.emails.append(messages.compose(
        state, key="designation-document-due", to=messages.city(state) + messages.contacts(state), rule_id="PD16",
        subject_zh="公示期满无异议，待印发认定文件", subject_en="Notice ended: designation document due",
        what_zh=f"公示期已满且无未处理异议。拟定名称：{state.profile.designated_name}。",
        what_en=f"The notice ended with no open objection. Proposed name: {state.profile.designated_name}.",
        todo_zh="市科技局：印发认定文件并在系统中登记文号、日期和中心名称（issue_designation）。",
        todo_en="City bureau: issue the designation document and record its number, date and the center's name "
                "(issue_designation).",
        due_at=deadline.due_at,
    ))


def _await_objections(decision: Decision, open_ids: list[str], now: datetime) -> None:
    """PD16: an objection open at the notice end becomes a deadline for the bureau to resolve."""
    state = decision.state
    listed = ", ".join(open_ids)
    deadline = _bureau_deadline(state, now, OBJECTIONS_OPEN, OBJECTIONS_KIND, f"处理公示异议（{listed}）",
                                f"resolve the objection(s) {listed}")
    decision.summary += f"; designation held by open objection(s) {listed}, to resolve by " \
                        f"{messages.format_due(deadline.due_at)}"
    decision.emails.append(messages.compose(
        state, key="notice-held", to=messages.city(state), rule_id="PD16",
        subject_zh="公示期满，存在未处理异议", subject_en="Notice ended with an open objection",
        what_zh=f"公示期已满，异议 {listed} 尚未处理，认定暂缓。",
        what_en=f"The notice ended with objection(s) {listed} open; the designation waits.",
        todo_zh="市科技局：核实并记录异议处理结果。", todo_en="City bureau: verify and record the outcome.",
        due_at=deadline.due_at,
    ))


on_due(DOCUMENT_KIND)(mark_overdue)
on_due(OBJECTIONS_KIND)(mark_overdue)


def official_name(state: CenterState, name_xx: str | None) -> str:
    """D7, PD16: 舟山市××产业创新中心, ×× the field's name unless the bureau sets another."""
    return f"{NAME_PREFIX}{name_xx or state.profile.field_zh}{NAME_SUFFIX}"


def check_issue_designation(state: CenterState, act: IssueDesignation, now: datetime) -> None:
    """PD16: after the notice has ended with no open objection, dated from the day after the notice and
    not in the future; ×× is the bare field part of the name."""
    notice = state.notice
    if notice is None or notice.automatic_designation:
        raise Refusal("PD16", "phase", "this notice designates by itself when it ends (published before PD16)")
    if not notice.ended:
        raise Refusal("PD16", "phase", f"the notice runs until {messages.format_due(notice.ends_at)}; the document is "
                      "issued after it ends")
    open_ids = [o.id for o in state.objections if o.status == "open"]
    if open_ids:
        raise Refusal("PD16", "phase", f"objection(s) {', '.join(open_ids)} are open; resolve them first (D7)")
    resolved = [local_date(o.resolved_at) for o in state.objections if o.resolved_at is not None]
    first_day = max([local_date(notice.ends_at), *resolved])  # after the notice and every objection's finding
    if not first_day <= act.issued_on <= local_date(now):
        raise Refusal("PD16", "issued_on", f"the document is dated from {first_day} (the notice ended at "
                      f"{messages.format_due(notice.ends_at)}, and every objection was resolved) to today "
                      f"({local_date(now)}), not {act.issued_on}")
    if act.name_xx is not None:
        xx = act.name_xx
        if xx != xx.strip() or any(c.isspace() for c in xx) or NAME_PREFIX in xx or NAME_SUFFIX in xx:
            raise Refusal("PD16", "name_xx", f"give only the ×× of {NAME_PREFIX}××{NAME_SUFFIX}, without spaces, "
                          f"{NAME_PREFIX} or {NAME_SUFFIX}; got {xx!r}")


def name_query(state: CenterState, act: IssueDesignation, now: datetime) -> FactRequest:
    """PD16: the name must be unique among live centers, which only the database knows."""
    query = NameQuery(center_id=state.center_id, name=official_name(state, act.name_xx))
    return FactRequest("find_live_centers_named", query, list[str], "PD16", "name_xx",
                       "PD16 is the center's name free among live centers")


@action(
    "issue_designation", payload=IssueDesignation, rules=("D7", "PD16"), roles={Role.CITY_BUREAU},
    phases={Phase.PUBLIC_NOTICE},
    description="D7 PD16: the bureau issues the designation document: number, date and the center's name",
    check=check_issue_designation, facts=name_query,
)
def decide_issue_designation(state: CenterState, act: IssueDesignation, now: datetime, taken_by: list[str]) -> Decision:
    name = official_name(state, act.name_xx)
    if taken_by:
        raise Refusal("PD16", "name_xx", f"{name} is already the name of live center(s) {', '.join(taken_by)}; "
                      "set another ×× (name_xx)")
    remove_deadline(state, DESIGNATION_DOCUMENT)
    decision = Decision(state, f"designation document {act.document_number} issued", ("D7", "PD16"),
                        detail={"document_number": act.document_number, "issued_on": act.issued_on.isoformat(),
                                "name": name})
    _designate(decision, now, act.issued_on, name=name, document_ref=act.document_number, issued_by=act.actor.name)
    return decision


def _designate(decision: Decision, now: datetime, on: date, name: str | None = None,
               document_ref: str | None = None, issued_by: str | None = None) -> None:
    """D7: designate on ``on`` (PD16: the document's date; before PD16 the day after the notice, or the
    day an objection is cleared) and name the center 舟山市××产业创新中心; other rule families start
    their cycles."""
    state = decision.state
    state.designation = Designation(on=on, name=name or state.profile.designated_name, document_ref=document_ref,
                                    issued_by=issued_by)
    state.phase = Phase.DESIGNATED
    decision.summary += f"; designated as {state.designation.name}"
    decision.emails.append(messages.compose(
        state, key=f"designated", to=messages.everyone(state), rule_id="D7",
        subject_zh="认定通知", subject_en="Designation",
        what_zh=f"公示无异议，认定为“{state.designation.name}”，认定日期 {state.designation.on}"
                + (f"（{document_ref}）。" if document_ref else "。"),
        what_en=f"Designated as “{state.designation.name}” on {state.designation.on}"
                + (f" ({document_ref})." if document_ref else "."),
        todo_zh="请按要求编制建设方案并参加年度绩效评价（M7、M1）。",
        todo_en="Prepare the construction plan and take part in the yearly evaluations (M7, M1).",
    ))
    for hook in ON_DESIGNATED:
        decision.emails.extend(hook(state, now))


def open_lifecycle(state: CenterState, now: datetime) -> Decision:
    """D1: the lifecycle opens in `preparing`, by either route; the contacts and county are told."""
    route = {"directed": ("定向布局", "directed layout"), "merit": ("择优认定", "merit-based designation")}[state.profile.route.value]
    email = messages.compose(
        state, key=f"opened", to=messages.contacts(state) + messages.county(state), rule_id="D1",
        subject_zh="产业创新中心建设流程已开启", subject_en="Lifecycle opened",
        what_zh=f"已按{route[0]}路径登记，所属领域：{state.profile.field_zh}。",
        what_en=f"Registered by {route[1]}, field {state.profile.field.value}.",
        todo_zh="实施主体：准备好后向所在县（区、功能区）科技部门提交认定申请及诚信承诺书。",
        todo_en="Implementing entity: when ready, apply to the county department with the integrity commitment letter.",
    )
    return Decision(state, f"lifecycle opened ({state.profile.route.value})", ("D1",), emails=[email], event="opened")
