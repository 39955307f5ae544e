"""Pure tests of the money rules (S1-S3, PD5, PD6, PD13, PD14) without a server or a database.

The per-center rules the ledger holds (S1/PD11 years, S2 one advance a year, S3 lapse per center,
PD12 year of grant, PD6 cap) are proven against PostgreSQL in tests/activities/test_ledger.py; here
the ledger's answer is given directly. ``legacy()`` is a run begun before the PD11-PD17 patch.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from models.state import CenterState
from models.subsidy import AdvanceReservation, LedgerEntry, LedgerRefusal
from rules import engine
from rules.agenda import due_now
from rules.calendar import end_of_day
from rules.catalog import ACTIONS
from rules.engine import Decision, Refusal
from tests.fixtures import factories as f
from tests.fixtures.states import T0, new_state, run

D = Decimal
NEXT_YEAR = datetime(2027, 1, 4, 2, 0, tzinfo=timezone.utc)  # PD13: 2026 can be settled from 1 January 2027


def legacy(state: CenterState | None = None) -> CenterState:
    """A run begun before the patch pd1x-rule-book-pd11-pd17 keeps the rules it started with."""
    state = state or new_state()
    state.rule_book_pd11 = False
    return state


def bureau() -> dict[str, Any]:
    return f.actor("city_bureau", name="张华")


def grant(year: int | None = None, amount: Any = "1000000.00", **changes: Any) -> dict[str, Any]:
    data = {"actor": bureau(), "request_id": f.rid(), "amount_yuan": amount, "payment_ref": "舟科拨〔2026〕1号"}
    if year is not None:
        data["year"] = year
    return data | changes


def settle(year: int, due: Any, **changes: Any) -> dict[str, Any]:
    return {"actor": bureau(), "request_id": f.rid(), "year": year, "amount_due_yuan": due,
            "assessment_ref": f"绩效评价 {year}"} | changes


def repay(year: int, amount: Any) -> dict[str, Any]:
    return {"actor": bureau(), "request_id": f.rid(), "year": year, "amount_yuan": amount, "receipt_ref": "缴款书"}


def granted(state: CenterState, payload: dict[str, Any], now: datetime = T0) -> Decision:
    """check, then the PD6 fact as the database would answer when there is headroom, then decide."""
    act = engine.parse("grant_advance", payload)
    engine.check(state, "grant_advance", act, now)
    request = ACTIONS["grant_advance"].facts(state, act, now)
    assert request is not None
    answer = AdvanceReservation(entry=request.arg.entry) if state.rule_book_pd11 else request.arg.entry
    return engine.decide(state, "grant_advance", act, now, answer)


def refused(state: CenterState, name: str, payload: dict[str, Any], now: datetime = T0) -> Refusal:
    with pytest.raises(Refusal) as info:
        if name == "grant_advance":
            granted(state, payload, now)
        else:
            run(state, name, payload, now)
    return info.value


def until(state: CenterState, now: datetime) -> tuple[CenterState, list[Decision]]:
    """Everything that falls due up to ``now``, applied in order, as the workflow loop does."""
    decisions = []
    while (decision := due_now(state, now)) is not None:
        decisions.append(decision)
        state = decision.state
    return state, decisions


def test_s1_before_pd11_fourth_year_refused_from_the_lifecycle_state():
    """S1, before PD11: a single center is subsidized for at most 3 years (checked in the state)."""
    state = granted(legacy(), grant(2026)).state
    state = granted(state, grant(2027)).state
    state = granted(state, grant(2028), T0 + timedelta(days=365)).state
    assert state.subsidy.years_granted == [2026, 2027, 2028]
    refusal = refused(state, "grant_advance", grant(2029), T0 + timedelta(days=2 * 365 - 10))
    assert (refusal.rule_id, refusal.field) == ("S1", "year")
    assert "at most 3 years" in refusal.message and "2026, 2027, 2028" in refusal.message


def test_s2_before_pd12_one_advance_per_year_paid_ahead_for_this_year_or_next():
    state = granted(legacy(), grant()).state  # year defaults to this year (Asia/Shanghai)
    assert state.subsidy.years_granted == [2026]
    again = refused(state, "grant_advance", grant(2026))
    assert (again.rule_id, again.field) == ("S2", "year") and "already granted" in again.message
    for year in (2025, 2028):
        late_or_far = refused(state, "grant_advance", grant(year))
        assert (late_or_far.rule_id, late_or_far.field) == ("S2", "year")


def test_pd6_cap_is_asked_of_the_database_with_the_policy_cap():
    """PD6, PD11: the cap spans all centers and the subsidy years span a center's lifecycles, so
    grant_advance asks the reserve_subsidy_advance activity (one locked transaction in PostgreSQL)."""
    state = new_state()
    act = engine.parse("grant_advance", grant(2027, "2500000.5"))
    request = ACTIONS["grant_advance"].facts(state, act, T0)
    assert (request.activity, request.rule_id, request.field) == ("reserve_subsidy_advance", "PD6", "amount_yuan")
    assert request.arg.cap_yuan == D("3000000.00") and request.arg.max_years == 3
    entry = request.arg.entry
    assert (entry.kind, entry.year, entry.amount_yuan, entry.center_id) == ("advance", 2027, D("2500000.50"),
                                                                           state.center_id)
    assert str(entry.amount_yuan) == "2500000.50"
    # The key is stable for a request (a retried activity hits the same row) and unique per request.
    again = ACTIONS["grant_advance"].facts(state, act, T0)
    assert again.arg.entry.key == entry.key and act.request_id in entry.key


@pytest.mark.parametrize("amount", [1500000.0, 0.1, True])
def test_s1_amounts_are_exact_a_float_never_sneaks_in(amount):
    refusal = refused(new_state(), "grant_advance", grant(2026, amount))
    assert refusal.field == "amount_yuan" and "never a float" in refusal.message


@pytest.mark.parametrize("amount", ["1.005", "0", "-5", "NaN"])
def test_s1_amounts_have_fen_precision_and_are_positive(amount):
    assert refused(new_state(), "grant_advance", grant(2026, amount)).field == "amount_yuan"


def test_s1_only_the_city_bureau_grants_and_not_after_the_end():
    payload = grant(2026, actor=f.actor("county_department", "dinghai"))
    assert refused(new_state(), "grant_advance", payload).field == "actor.role"
    withdrawn = run(new_state(), "withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                              "reason": "不再建设"}).state
    assert refused(withdrawn, "grant_advance", grant(2026)).field == "phase"


def test_pd5_first_advance_opens_the_s3_deadline_two_years_from_the_day_of_issue():
    """PD5: the S3 deadline runs from the day the first subsidy is issued (2026-03-02 -> 2028-03-02 24:00);
    a later advance does not move it. It outlives the end, so an undesignated center is still clawed back."""
    decision = granted(new_state(), grant(2026))
    state = decision.state
    deadline = state.deadline("s3-designation")
    assert deadline is not None and deadline.rule_id == "S3" and deadline.outlives_end
    assert deadline.due_at == end_of_day(date(2028, 3, 2)) == state.subsidy.s3_deadline_at
    assert state.subsidy.first_advance_on == date(2026, 3, 2)
    assert {"S3", "PD5"} <= set(decision.rule_ids)
    later = granted(state, grant(2027), T0 + timedelta(days=300)).state
    assert later.deadline("s3-designation").due_at == deadline.due_at


def test_pd5_leap_day_first_advance_clamps_to_28_february():
    leap = datetime(2028, 2, 29, 2, 0, tzinfo=timezone.utc)
    state = granted(new_state(), grant(2028), leap).state
    assert state.deadline("s3-designation").due_at == end_of_day(date(2030, 2, 28))


def test_s3_designation_closes_the_deadline():
    """S3: designation within the 2 years meets the deadline (when_designated hook)."""
    state = granted(new_state(), grant(2026)).state
    state = run(state, "submit_application", f.application(), facts=[]).state
    state = run(state, "record_county_review", f.county_review()).state
    state = run(state, "record_city_evaluation", f.city_evaluation(evaluated_on=date(2026, 3, 2))).state
    ends_at = end_of_day(date(2026, 3, 6))
    state = run(state, "publish_notice", f.notice(date(2026, 3, 2)), facts=ends_at).state
    state, _ = until(state, ends_at + timedelta(minutes=1))
    state = run(state, "issue_designation", f.designation_document(date(2026, 3, 9)), ends_at + timedelta(days=2),
                facts=[]).state
    assert state.phase == "designated"
    assert state.deadline("s3-designation") is None
    state, decisions = until(state, end_of_day(date(2028, 3, 3)))
    assert not state.subsidy.s3_lapsed and not state.subsidy.clawbacks
    assert not any(d.event == "due:s3_deadline" for d in decisions)
    # a designated center that was never advanced before gets no S3 deadline at all
    assert granted(state, grant(2028), end_of_day(date(2028, 3, 3))).state.deadline("s3-designation") is None


def test_s2_excess_settled_into_a_clawback_due_in_policy_days():
    """S2: the assessment fixes the amount due; the excess is owed back within policy.clawback_due_days."""
    state = granted(new_state(), grant(2026, "1000000")).state
    decision = run(state, "settle_subsidy", settle(2026, "750000.00"), NEXT_YEAR)
    state = decision.state
    year = state.subsidy.year(2026)
    assert year.amount_due_yuan == D("750000.00") and year.settled
    assert state.deadline("settlement-2026") is None  # PD13: settled, its deadline is met
    [clawback] = state.subsidy.clawbacks
    assert (clawback.rule_id, clawback.amount_yuan, clawback.outstanding_yuan) == ("S2", D("250000.00"), D("250000.00"))
    assert clawback.due_on == date(2027, 1, 4) + timedelta(days=90)  # settled on 2027-01-04 (Shanghai)
    deadline = state.deadline(clawback.id)
    assert deadline.due_at == end_of_day(clawback.due_on) and deadline.outlives_end and deadline.rule_id == "S2"
    assert [(e.kind, e.amount_yuan, e.rule_id) for e in decision.ledger] == [
        ("settlement", D("750000.00"), "S2"), ("clawback", D("250000.00"), "S2")]
    assert all(isinstance(e, LedgerEntry) and e.year == 2026 for e in decision.ledger)
    assert state.subsidy.outstanding_yuan == D("250000.00")


def test_s2_repayment_partial_then_full_closes_the_clawback():
    state = granted(new_state(), grant(2026, "1000000")).state
    state = run(state, "settle_subsidy", settle(2026, "600000"), NEXT_YEAR).state
    too_much = refused(state, "record_repayment", repay(2026, "400000.01"), NEXT_YEAR)
    assert (too_much.rule_id, too_much.field) == ("S2", "amount_yuan") and "400,000.00 yuan" in too_much.message
    partial = run(state, "record_repayment", repay(2026, "100000"), NEXT_YEAR)
    assert partial.state.subsidy.clawback(2026).outstanding_yuan == D("300000.00")
    assert partial.state.deadline("clawback-2026") is not None
    full = run(partial.state, "record_repayment", repay(2026, "300000.00"), NEXT_YEAR)
    clawback = full.state.subsidy.clawback(2026)
    assert not clawback.open and clawback.repaid_yuan == D("400000.00")
    assert full.state.deadline("clawback-2026") is None
    assert [(e.kind, e.amount_yuan) for e in full.ledger] == [("repayment", D("300000.00"))]
    closed = refused(full.state, "record_repayment", repay(2026, "1"), NEXT_YEAR)
    assert (closed.rule_id, closed.field) == ("S2", "year")


def test_s2_whole_advance_due_is_no_clawback_and_settlement_rules():
    state = granted(new_state(), grant(2026, "500000")).state
    over = refused(state, "settle_subsidy", settle(2026, "500000.01"), NEXT_YEAR)
    assert (over.rule_id, over.field) == ("S2", "amount_due_yuan")
    assert refused(state, "settle_subsidy", settle(2027, "1"), NEXT_YEAR).field == "year"
    decision = run(state, "settle_subsidy", settle(2026, "500000"), NEXT_YEAR)
    assert not decision.state.subsidy.clawbacks and [e.kind for e in decision.ledger] == ["settlement"]
    twice = refused(decision.state, "settle_subsidy", settle(2026, "1"), NEXT_YEAR)
    assert (twice.rule_id, twice.field) == ("S2", "year") and "already settled" in twice.message
    nothing_due = run(granted(new_state(), grant(2026, "500000")).state, "settle_subsidy", settle(2026, "0"),
                      NEXT_YEAR)
    assert nothing_due.state.subsidy.clawback(2026).amount_yuan == D("500000.00")
    assert [(e.kind, e.amount_yuan) for e in nothing_due.ledger] == [("settlement", D("0.00")),
                                                                     ("clawback", D("500000.00"))]


def test_s2_unpaid_clawback_becomes_overdue_and_outlives_the_end():
    """S2, PD9: an unpaid clawback is marked overdue (reminders first) and stays after the lifecycle ends."""
    state = granted(new_state(), grant(2026, "1000000")).state
    state = run(state, "settle_subsidy", settle(2026, "900000"), NEXT_YEAR).state
    state = run(state, "withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                    "reason": "不再建设"}, NEXT_YEAR).state
    assert state.phase == "withdrawn" and {d.id for d in state.agenda} == {"clawback-2026", "s3-designation"}
    due = state.deadline("clawback-2026").due_at
    state, decisions = until(state, due + timedelta(minutes=1))
    assert [d.event for d in decisions] == ["reminder", "reminder", "reminder", "due:clawback_due"]
    assert state.deadline("clawback-2026").overdue
    assert "Overdue" in decisions[-1].emails[0].subject
    # the bureau can still record the repayment after the end; then only the S3 deadline is left
    state = run(state, "record_repayment", repay(2026, "100000"), due + timedelta(days=3)).state
    assert [d.id for d in state.agenda] == ["s3-designation"]


def test_s3_before_pd14_lapse_claws_back_unused_and_stops_advances():
    """S3, PD5, before PD14 (a run begun before the patch): 2 years after the first advance,
    undesignated: no further advance; every advance not yet settled is clawed back whole; the S2
    excess of a settled year is not clawed twice. The center may still go on with its procedure."""
    state = granted(legacy(), grant(2026, "1000000")).state
    state = granted(state, grant(2027, "800000")).state
    state = run(state, "settle_subsidy", settle(2026, "700000"), T0 + timedelta(days=30)).state
    state = run(state, "record_repayment", repay(2026, "300000"), T0 + timedelta(days=40)).state
    lapse = end_of_day(date(2028, 3, 2))
    state, decisions = until(state, lapse)
    [s3] = [d for d in decisions if d.event == "due:s3_deadline"]
    assert state.subsidy.s3_lapsed and state.subsidy.s3_lapsed_at == lapse
    assert state.deadline("s3-designation") is None
    clawback = state.subsidy.clawback(2027)
    assert (clawback.rule_id, clawback.amount_yuan) == ("S3", D("800000.00"))
    assert state.deadline("clawback-2027").outlives_end
    assert [(e.kind, e.year, e.amount_yuan, e.rule_id, e.actor) for e in s3.ledger] == [
        ("clawback", 2027, D("800000.00"), "S3", "system")]
    assert "800,000.00 yuan" in s3.emails[0].body
    later = lapse + timedelta(days=1)
    no_more = refused(state, "grant_advance", grant(2028), later)
    assert (no_more.rule_id, no_more.field) == ("S3", "designation")
    closed_year = refused(state, "settle_subsidy", settle(2027, "1"), later)
    assert (closed_year.rule_id, closed_year.field) == ("S3", "year")
    assert run(state, "submit_application", f.application(), later, facts=[]).state.phase == "county_review"


def test_s3_lapse_with_every_year_settled_claws_back_nothing_more():
    """S3, PD11: the lapse claws back nothing settled; the ledger records the lapse for the center."""
    state = granted(new_state(), grant(2026, "1000000")).state
    state = run(state, "settle_subsidy", settle(2026, "1000000"), NEXT_YEAR).state
    state, decisions = until(state, end_of_day(date(2028, 3, 2)))
    [s3] = [d for d in decisions if d.event == "due:s3_deadline"]
    assert state.subsidy.s3_lapsed and not state.subsidy.clawbacks
    assert [(e.kind, e.amount_yuan, e.rule_id, e.year) for e in s3.ledger] == [("lapse", D("0.00"), "S3", 2026)]


def test_s3_state_round_trips_as_json_with_exact_amounts():
    """The state query and continue-as-new carry amounts as exact strings."""
    state = granted(new_state(), grant(2026, "1234567.8")).state
    state = run(state, "settle_subsidy", settle(2026, "1000000.01"), NEXT_YEAR).state
    data = state.model_dump(mode="json")
    assert data["subsidy"]["years"][0]["advance_yuan"] == "1234567.80"
    assert data["subsidy"]["outstanding_yuan"] == "234567.79"
    again = CenterState.model_validate(data)
    assert again.subsidy == state.subsidy


def test_s3_before_pd14_deadline_outlives_a_withdrawal_and_claws_back_the_unused_advance():
    """S3, before PD14: a center that withdraws after an advance is never designated; when the deadline
    passes, its unsettled advance is clawed back whole (the lifecycle stays open for it)."""
    state = granted(legacy(), grant(2026, "600000")).state
    state = run(state, "withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                    "reason": "不再建设"}).state
    assert state.ended and [d.id for d in state.agenda] == ["s3-designation"]
    state, decisions = until(state, end_of_day(date(2028, 3, 2)))
    [s3] = [d for d in decisions if d.event == "due:s3_deadline"]
    assert state.subsidy.clawback(2026).amount_yuan == D("600000.00") and state.phase == "withdrawn"
    assert [d.id for d in state.agenda] == ["clawback-2026"]
    assert "may still" not in s3.emails[0].body and "600,000.00元" in s3.emails[0].body


def test_pd13_every_advance_opens_a_settlement_deadline_for_the_bureau_that_outlives_the_end():
    """PD13: each advance opens a settlement deadline (31 December of Y+1) for the city bureau; it
    outlives the end, and the reminders of it go to the bureau (PD9)."""
    state = granted(new_state(), grant(2026, "600000")).state
    deadline = state.deadline("settlement-2026")
    assert (deadline.rule_id, deadline.who_acts, deadline.outlives_end) == ("PD13", "city_bureau", True)
    assert deadline.due_at == end_of_day(date(2027, 12, 31))
    state = run(state, "withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                    "reason": "不再建设"}).state
    assert state.ended and {d.id for d in state.agenda} == {"settlement-2026", "s3-designation"}


def test_pd13_settlement_from_the_next_year_or_once_ended_and_never_above_the_advance():
    """PD13: the amount due for Y is recorded from 1 January of Y+1, or earlier once the lifecycle has
    ended; it never exceeds the advance (no top-up)."""
    state = granted(new_state(), grant(2026, "600000")).state
    early = refused(state, "settle_subsidy", settle(2026, "500000"), T0 + timedelta(days=100))
    assert (early.rule_id, early.field) == ("PD13", "year") and "2027-01-01" in early.message
    assert refused(state, "settle_subsidy", settle(2026, "600000.01"), NEXT_YEAR).field == "amount_due_yuan"
    withdrawn = run(state, "withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                        "reason": "不再建设"}).state
    settled = run(withdrawn, "settle_subsidy", settle(2026, "200000"), T0 + timedelta(days=100)).state
    assert settled.subsidy.clawback(2026).amount_yuan == D("400000.00")
    assert settled.deadline("settlement-2026") is None


def test_pd13_unsettled_year_turns_overdue_for_the_bureau():
    state = granted(new_state(), grant(2026, "600000")).state
    due = state.deadline("settlement-2026").due_at
    state, decisions = until(state, due + timedelta(minutes=1))
    settlement = [d for d in decisions if "PD13" in d.rule_ids]
    assert [d.event for d in settlement][-1] == "due:settlement_due" and state.deadline("settlement-2026").overdue
    city = str(state.offices.city_bureau_email)
    assert all(city in d.emails[0].to for d in settlement)


def test_pd14_s3_lapse_asks_the_bureau_to_settle_and_claws_back_nothing_by_itself():
    """PD14: at the lapse nothing is clawed back without the bureau's finding; each unsettled year is
    settled (amount due = what was used) and only the rest is clawed back, as an S3 clawback."""
    state = granted(new_state(), grant(2026, "1000000")).state
    state = granted(state, grant(2027, "800000"), NEXT_YEAR).state
    lapse = end_of_day(date(2028, 3, 2))
    state, decisions = until(state, lapse)
    [s3] = [d for d in decisions if d.event == "due:s3_deadline"]
    assert state.subsidy.s3_lapsed and state.subsidy.clawbacks == []
    assert [e.kind for e in s3.ledger] == ["lapse"] and "2026, 2027" in s3.emails[0].body
    assert {"settlement-2026", "settlement-2027"} <= {d.id for d in state.agenda}
    later = lapse + timedelta(days=1)
    no_more = refused(state, "grant_advance", grant(2028), later)  # the ledger's lapse row may still be queued
    assert (no_more.rule_id, no_more.field) == ("S3", "designation")
    state = run(state, "settle_subsidy", settle(2027, "300000"), later).state  # before 2028 ends: S3 lapsed
    clawback = state.subsidy.clawback(2027)
    assert (clawback.rule_id, clawback.amount_yuan) == ("S3", D("500000.00"))
    assert state.subsidy.clawback(2026) is None  # not settled yet: nothing clawed back


def test_pd14_withdrawn_center_keeps_its_money_open_until_settled():
    """PD13, PD14: a withdrawn center's unsettled advance stays open after the S3 lapse until the bureau
    settles it; the clawback of the unused part then outlives the end too."""
    state = granted(new_state(), grant(2026, "600000")).state
    state = run(state, "withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                    "reason": "不再建设"}).state
    state, decisions = until(state, end_of_day(date(2028, 3, 2)))
    assert state.subsidy.s3_lapsed and state.subsidy.clawbacks == [] and state.phase == "withdrawn"
    assert [d.id for d in state.agenda] == ["settlement-2026"]
    state = run(state, "settle_subsidy", settle(2026, "100000"), end_of_day(date(2028, 3, 3))).state
    assert [d.id for d in state.agenda] == ["clawback-2026"]
    assert state.subsidy.clawback(2026).amount_yuan == D("500000.00")


def test_pd12_ledger_refusal_refuses_the_action_by_its_rule_and_field():
    """PD11, PD12: a refusal of the ledger reaches the user with its own rule and field."""
    state = new_state()
    act = engine.parse("grant_advance", grant(2027))
    with pytest.raises(Refusal) as info:
        engine.decide(state, "grant_advance", act, T0, AdvanceReservation(refusal=LedgerRefusal(
            rule_id="PD12", field="year", message="an advance for 2027 is granted only during 2027")))
    assert (info.value.rule_id, info.value.field) == ("PD12", "year")


def test_pd9_s3_reminders_reach_the_bureau_as_well_as_the_center():
    """PD9: the bureau decides and records what the S3 lapse brings (notice, settlement), so its
    reminders go to the bureau too; an annual report's do not (the center alone acts)."""
    state = granted(new_state(), grant(2026, "600000")).state
    state, decisions = until(state, end_of_day(date(2028, 3, 2)) - timedelta(days=2))
    s3 = [d for d in decisions if d.event == "reminder" and "S3" in d.rule_ids]
    assert len(s3) == 2  # 30 and 7 days before
    city, contact = str(state.offices.city_bureau_email), state.profile.contact_emails[0]
    assert all(city in d.emails[0].to and contact in d.emails[0].to for d in s3)
    _, old = until(granted(legacy(), grant(2026, "600000")).state, end_of_day(date(2028, 3, 2)) - timedelta(days=2))
    assert [city not in d.emails[0].to for d in old if d.event == "reminder"] == [True, True]  # before the patch


def test_pd14_m3_cancellation_lets_the_bureau_settle_the_years_it_covers_now():
    """PD14, M3: a cancellation from the year of the change asks a settlement of each advance of the
    years it covers (the amount due may be zero); the lifecycle has ended, so they are settled at once."""
    from models.designation import Designation
    from rules.engine import ON_DESIGNATED

    state = granted(new_state(), grant(2026, "900000")).state
    state.phase, state.designation = "designated", Designation(on=date(2026, 3, 2), name=state.profile.designated_name)
    for hook in ON_DESIGNATED:
        hook(state, T0)
    now = datetime(2026, 9, 1, 2, 0, tzinfo=timezone.utc)
    state = run(state, "report_major_change", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                               "kind": "merger", "happened_on": "2026-08-01", "description": "合并"},
                now).state
    cancelled = run(state, "record_major_change_review", {"actor": bureau(), "request_id": f.rid(),
                                                          "change_id": state.operating.major_changes[0].id,
                                                          "still_eligible": False, "finding": "不再符合"}, now)
    assert cancelled.state.phase == "cancelled" and "2026" in cancelled.emails[0].body
    assert [d.id for d in cancelled.state.agenda] == ["settlement-2026"]
    settled = run(cancelled.state, "settle_subsidy", settle(2026, "0"), now)
    assert settled.state.subsidy.clawback(2026).amount_yuan == D("900000.00")


def test_pd13_a_run_that_takes_the_new_rules_opens_the_settlements_the_old_rules_never_did():
    """Money advanced under the rules before PD11-PD17 had no settlement deadline; the first run on
    the new rules opens one per unsettled year (not for a year clawed back whole at an old S3 lapse)."""
    from rules.money import open_missing_settlements

    state = granted(new_state(), grant(2026)).state
    state.agenda = [d for d in state.agenda if not d.id.startswith("settlement-")]  # as the old rules left it
    decision = open_missing_settlements(state.model_copy(deep=True), T0)
    assert decision is not None and decision.state.deadline("settlement-2026") is not None
    assert decision.state.deadline("settlement-2026").outlives_end
    assert open_missing_settlements(decision.state.model_copy(deep=True), T0) is None
