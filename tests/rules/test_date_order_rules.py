"""Dates keep the procedure's order, and late records are explicit (D6, D7; issue 13)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from rules.agenda import due_now
from rules.engine import Refusal
from tests.fixtures import factories as f
from tests.fixtures.states import T0, new_state, run

ENDS = datetime(2026, 3, 6, 16, 0, tzinfo=timezone.utc)  # 24:00 Friday 6 March 2026, the 5th working day


def reviewed():
    state = run(new_state(), "submit_application", f.application(), facts=[]).state
    return run(state, "record_county_review", f.county_review()).state


def test_d6_the_evaluation_cannot_be_dated_before_the_county_review():
    """The shipped example once had an evaluation dated six months before the application."""
    with pytest.raises(Refusal) as info:
        run(reviewed(), "record_city_evaluation", f.city_evaluation(evaluated_on=date(2026, 3, 1)))
    assert (info.value.rule_id, info.value.field) == ("D6", "evaluated_on") and "2026-03-02" in info.value.message
    assert run(reviewed(), "record_city_evaluation", f.city_evaluation(evaluated_on=date(2026, 3, 2))).state


def test_d7_a_notice_recorded_after_it_ended_needs_the_reason_which_the_record_carries():
    state = run(reviewed(), "record_city_evaluation", f.city_evaluation(evaluated_on=date(2026, 3, 2))).state
    later = ENDS + timedelta(days=10)
    with pytest.raises(Refusal) as info:
        run(state, "publish_notice", f.notice(date(2026, 3, 2)), later, facts=ENDS)
    assert (info.value.rule_id, info.value.field) == ("D7", "recorded_late")
    decision = run(state, "publish_notice", f.notice(date(2026, 3, 2), recorded_late="公示期间系统尚未上线，纸质公示"),
                   later, facts=ENDS)
    assert "recorded late: 公示期间系统尚未上线" in decision.summary
    assert decision.detail["recorded_late"] and "纸质公示" in decision.emails[0].body
    on_time = run(state, "publish_notice", f.notice(date(2026, 3, 2)), T0, facts=ENDS)
    assert "recorded late" not in on_time.summary


def test_d7_objections_received_offline_are_entered_before_the_designation_is_decided():
    """After a late-recorded notice the bureau enters the objections that reached it during the
    notice, with the day they arrived; the designation document waits for them (PD16)."""
    state = run(reviewed(), "record_city_evaluation", f.city_evaluation(evaluated_on=date(2026, 3, 2))).state
    later = ENDS + timedelta(days=10)
    state = run(state, "publish_notice", f.notice(date(2026, 3, 2), recorded_late="纸质公示"), later, facts=ENDS).state
    state = due_now(state, later, ordered=True).state
    assert state.notice.ended and state.deadline("designation-document") is not None
    offline = {"actor": f.actor("city_bureau"), "request_id": f.rid(), "objector": "李某", "contact": "信函",
               "grounds": "材料不实", "received_on": "2026-03-04"}
    with pytest.raises(Refusal) as public:
        run(state, "file_objection", offline | {"actor": f.actor("public", name="李某")}, later)
    assert public.value.field == "received_on"
    with pytest.raises(Refusal) as after:
        run(state, "file_objection", offline | {"received_on": "2026-03-07"}, later)
    assert after.value.field == "received_on" and "2026-03-06" in after.value.message
    held = run(state, "file_objection", offline, later).state
    assert held.objections[0].status == "open" and held.deadline("designation-document") is None
    assert held.deadline("objections-open") is not None
    with pytest.raises(Refusal):
        run(held, "issue_designation", f.designation_document(date(2026, 3, 16)), later, facts=[])
