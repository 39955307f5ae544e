"""Pure tests of the operating-life rules (M1-M4, M7, PD3, PD4, PD7) without a server."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from models.phase import Phase
from models.designation import Designation
from models.policy import GUIDELINE_2025, MonthDay
from rules.agenda import due_now, next_wakeup
from rules.calendar import end_of_day
from rules.engine import ON_DESIGNATED, Refusal, parse
from rules.operating import first_evaluated_year
from tests.fixtures import factories as f
from rules.calendar import default_calendar, period_end
from rules.periods import answer_period_ends
from tests.fixtures.states import new_state, run

DESIGNATED_AT = datetime(2026, 3, 10, 2, 0, tzinfo=timezone.utc)


def designated():
    state = new_state()
    state.phase = Phase.DESIGNATED
    state.designation = Designation(on=date(2026, 3, 10), name=state.profile.designated_name)
    for hook in ON_DESIGNATED:
        hook(state, DESIGNATED_AT)
    return state


def advance_to(state, moment):
    """Apply everything due up to ``moment``, as the workflow loop does."""
    while (wake := next_wakeup(state)) and wake[0] <= moment:
        state = due_now(state, wake[0]).state
    return state


def bureau(**fields):
    return {"actor": f.actor("city_bureau"), "request_id": f.rid(), **fields}


def grade(state, year, value, now):
    return run(state, "record_annual_evaluation",
               bureau(year=year, grade=value, evaluator="第三方评估机构", report_ref=f"PJ-{year}"), now=now)


def report_change(state, payload, now):
    """M3 with the PD10 window settled by the calendar, as the settle_period_ends activity answers."""
    nominal = period_end(date.fromisoformat(payload["happened_on"]), months=3).nominal
    return run(state, "report_major_change", payload, now=now, facts=answer_period_ends([nominal], default_calendar()))


def test_m1_first_evaluated_year_depends_on_the_designation_date():
    cutoff = GUIDELINE_2025.first_year_cutoff
    assert (cutoff.month, cutoff.day) == (6, 30)
    assert first_evaluated_year(date(2026, 6, 30), cutoff) == 2026
    assert first_evaluated_year(date(2026, 7, 1), cutoff) == 2027


def test_m1_first_year_cutoff_comes_from_the_frozen_policy():
    """PD8: a policy with a 31 March cutoff makes a 10 March designation's year evaluated, a 1 April one not."""
    policy = GUIDELINE_2025.model_copy(update={"first_year_cutoff": MonthDay(month=3, day=31)})
    assert first_evaluated_year(date(2026, 3, 31), policy.first_year_cutoff) == 2026
    assert first_evaluated_year(date(2026, 4, 1), policy.first_year_cutoff) == 2027


def test_m7_report_opening_day_comes_from_the_frozen_policy():
    """PD8: with reports opening on 1 November, a report on 2026 is taken on 1 November 2026."""
    state = advance_to(designated(), DESIGNATED_AT)
    state.policy = state.policy.model_copy(update={"annual_report_opens": MonthDay(month=11, day=1)})
    report = {"actor": f.actor("implementing_entity"), "year": 2026, "report_ref": "NB-2026", "request_id": f.rid()}
    with pytest.raises(Refusal, match="from 2026-11-01"):
        run(state, "submit_annual_report", report, now=datetime(2026, 10, 31, 15, 59, tzinfo=timezone.utc))
    done = run(state, "submit_annual_report", report, now=datetime(2026, 10, 31, 16, 0, tzinfo=timezone.utc))
    assert done.state.operating.years[2026].report_ref == "NB-2026"


def test_m7_m1_year_opens_with_report_and_evaluation_due_next_year():
    state = advance_to(designated(), DESIGNATED_AT)
    assert state.deadline("annual_report-2026").due_at == end_of_day(date(2027, 3, 31))
    assert state.deadline("annual_evaluation-2026").due_at == end_of_day(date(2027, 6, 30))
    assert state.deadline("year-2027").due_at == end_of_day(date(2026, 12, 31))


def test_m7_missing_report_is_overdue_then_taken_late():
    state = advance_to(designated(), end_of_day(date(2027, 4, 1)))
    assert state.deadline("annual_report-2026").overdue
    later = datetime(2027, 4, 5, 2, tzinfo=timezone.utc)
    done = run(state, "submit_annual_report", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                                "year": 2026, "report_ref": "NB-2026"}, now=later).state
    assert done.deadline("annual_report-2026") is None and done.operating.years[2026].report_late


def test_m1_grade_only_for_an_open_year():
    now = datetime(2027, 3, 1, 2, tzinfo=timezone.utc)
    state = advance_to(designated(), now)
    with pytest.raises(Refusal) as info:
        grade(state, 2025, "良好", now)
    assert (info.value.rule_id, info.value.field) == ("M1", "year")
    state = grade(state, 2026, "良好", now).state
    assert state.operating.grades == {2026: "良好"} and state.deadline("annual_evaluation-2026") is None
    with pytest.raises(Refusal):
        grade(state, 2026, "优秀", now)


def test_m1_a_year_is_graded_only_once_it_is_over():
    """Product decision: the evaluation of year Y is recorded from 1 January of Y+1 (a mistyped year
    such as the current one is refused)."""
    state = advance_to(designated(), DESIGNATED_AT)
    with pytest.raises(Refusal) as info:
        grade(state, 2026, "良好", datetime(2026, 12, 31, 15, 59, tzinfo=timezone.utc))  # 23:59 in Zhoushan
    assert (info.value.rule_id, info.value.field) == ("M1", "year") and "2027-01-01" in info.value.message
    new_year = datetime(2026, 12, 31, 16, 0, tzinfo=timezone.utc)  # 00:00 on 1 January 2027 in Zhoushan
    assert grade(advance_to(state, new_year), 2026, "良好", new_year).state.operating.grades == {2026: "良好"}


def test_m7_report_on_a_year_opens_on_1_december_of_that_year():
    state = advance_to(designated(), DESIGNATED_AT)
    report = {"actor": f.actor("implementing_entity"), "year": 2026, "report_ref": "NB-2026"}
    with pytest.raises(Refusal) as info:
        run(state, "submit_annual_report", {**report, "request_id": f.rid()},
            now=datetime(2026, 11, 30, 15, 59, tzinfo=timezone.utc))
    assert (info.value.rule_id, info.value.field) == ("M7", "year")
    done = run(state, "submit_annual_report", {**report, "request_id": f.rid()},
               now=datetime(2026, 11, 30, 16, 0, tzinfo=timezone.utc)).state
    assert done.operating.years[2026].report_ref == "NB-2026" and not done.operating.years[2026].report_late


def test_m1_m7_designated_after_june_first_evaluated_year_is_the_next():
    """Product decision: designated after 30 June, the designation year is not evaluated."""
    state = new_state()
    state.phase = Phase.DESIGNATED
    state.designation = Designation(on=date(2026, 12, 5), name=state.profile.designated_name)
    at = datetime(2026, 12, 5, 2, tzinfo=timezone.utc)
    for hook in ON_DESIGNATED:
        hook(state, at)
    state = advance_to(state, at)
    assert [d.id for d in state.agenda] == ["year-2027"] and 2026 not in state.operating.years
    marker = state.agenda[0]
    assert marker.internal and state.next_staff_deadline() is None  # nobody acts on the marker
    assert state.next_staff_deadline(hide_internal=False) == marker  # as runs before the patch saw it
    state = advance_to(state, end_of_day(date(2026, 12, 31)))
    assert {d.id for d in state.agenda} == {"annual_report-2027", "annual_evaluation-2027", "year-2028"}
    assert state.next_staff_deadline().id == "annual_report-2027"
    assert state.deadline("annual_report-2027").due_at == end_of_day(date(2028, 3, 31))


def test_m1_m7_yearly_cycle_goes_on_while_rectifying():
    now = datetime(2027, 5, 20, 2, tzinfo=timezone.utc)
    state = grade(advance_to(designated(), now), 2026, "不合格", now).state
    state = advance_to(state, end_of_day(date(2027, 12, 31)))
    assert state.phase == "rectifying"
    assert {"annual_report-2028", "annual_evaluation-2028", "rectification-2026"} <= {d.id for d in state.agenda}


def test_pd4_m2_unqualified_rectifies_one_year_from_the_day_recorded_then_passes():
    now = datetime(2027, 5, 20, 2, tzinfo=timezone.utc)
    state = advance_to(designated(), now)
    state = grade(state, 2026, "不合格", now).state
    assert state.phase == "rectifying"
    assert state.deadline("rectification-2026").due_at == end_of_day(date(2028, 5, 20))
    after = end_of_day(date(2028, 5, 20)) + timedelta(hours=10)
    passed = run(state, "record_rectification_result", bureau(passed=True, report_ref="ZG-1", finding="整改到位"),
                 now=after)
    assert passed.state.phase == "designated" and passed.state.deadline("rectification-2026") is None


def test_m2_before_pd15_rectification_running_out_delists_and_bans_the_entity():
    """M2, PD7, before PD15 (a run begun before the patch): the period running out delisted by itself."""
    now = datetime(2027, 5, 20, 2, tzinfo=timezone.utc)
    state = grade(advance_to(designated(), now), 2026, "不合格", now).state
    state.rule_book_pd11 = False
    state = advance_to(state, end_of_day(date(2028, 5, 20)))
    assert state.phase == "delisted" and state.agenda == []
    (ban,) = state.bans
    assert (ban.subject_kind, ban.scope, ban.rule_id) == ("implementing_entity", "any", "M2")
    # PD10: 2 years from the day after the delisting: the nominal last day is 21 May 2030 (a Tuesday),
    # provisional until the bans registry settles it over rest days.
    assert (ban.starts_on, ban.ends_on, ban.provisional) == (date(2028, 5, 21), date(2030, 5, 21), True)


def test_pd9_pd15_rectification_running_out_is_overdue_for_the_bureau_and_nothing_happens_by_itself():
    """PD15: no result by the end of the period: the deadline turns overdue (the bureau is told, and
    reminded before, PD9); the center is not delisted without a finding."""
    now = datetime(2027, 5, 20, 2, tzinfo=timezone.utc)
    state = grade(advance_to(designated(), now), 2026, "不合格", now).state
    city = str(state.offices.city_bureau_email)
    decisions = []
    while (wake := next_wakeup(state)) and wake[0] <= end_of_day(date(2028, 5, 20)):
        decision = due_now(state, wake[0])
        decisions.append(decision)
        state = decision.state
    rectification = [d for d in decisions if "M2" in d.rule_ids]
    assert [d.event for d in rectification] == ["reminder", "reminder", "reminder", "due:rectification"]
    assert all(city in d.emails[0].to for d in rectification)  # PD9: the bureau records the result
    assert state.phase == "rectifying" and state.deadline("rectification-2026").overdue and state.bans == []


def test_pd15_m2_failed_result_only_after_the_period_then_delists():
    """M2, PD15: a "failed" result the day after the grade is refused (the period has 360 days left);
    recorded once the period has ended, it delists and bans the implementing entity."""
    now = datetime(2027, 5, 20, 2, tzinfo=timezone.utc)
    state = grade(advance_to(designated(), now), 2026, "不合格", now).state
    early = bureau(passed=False, report_ref="ZG-1", finding="仍不合格")
    with pytest.raises(Refusal) as info:
        run(state, "record_rectification_result", early, now=now + timedelta(days=1))
    assert (info.value.rule_id, info.value.field) == ("PD15", "phase") and "2028-05-20" in info.value.message
    after = end_of_day(date(2028, 5, 20)) + timedelta(days=2)
    failed = run(advance_to(state, after), "record_rectification_result", early, now=after)
    assert failed.state.phase == "delisted" and failed.bans[0].rule_id == "M2"


def test_m4_second_unqualified_year_in_a_row_revokes_even_while_rectifying():
    """M4 (4) meets M2: the second unqualified grade revokes, though the rectification still runs."""
    first = datetime(2027, 5, 20, 2, tzinfo=timezone.utc)
    state = grade(advance_to(designated(), first), 2026, "不合格", first).state
    second = datetime(2028, 5, 10, 2, tzinfo=timezone.utc)  # rectification runs until 2028-05-20
    state = advance_to(state, second)
    assert state.phase == "rectifying"
    decision = grade(state, 2027, "不合格", second)
    assert decision.state.phase == "revoked" and decision.state.operating.revocation.ground == "unqualified_two_years"
    assert decision.state.operating.rectifications[-1].result == "superseded" and decision.state.agenda == []
    entity, lead = decision.bans  # PD7: the center's implementing entity and its lead unit, same field
    assert (entity.subject_kind, entity.scope, entity.field, entity.rule_id) == \
        ("implementing_entity", "same_type", "new_materials", "M4")
    assert (lead.subject_kind, lead.scope, lead.field, lead.rule_id) == ("lead_unit", "same_type", "new_materials", "M4")


def test_m4_a_year_graded_late_still_makes_two_in_a_row():
    """M4 (4) looks both ways: 2027 graded unqualified first, then the overdue 2026 grade, also
    unqualified, completes the streak and revokes."""
    t = datetime(2028, 3, 10, 2, tzinfo=timezone.utc)
    state = advance_to(designated(), t)
    assert state.deadline("annual_evaluation-2026").overdue
    state = grade(state, 2027, "不合格", t).state
    assert state.phase == "rectifying"
    decision = grade(state, 2026, "不合格", t)
    assert decision.state.phase == "revoked" and "2026 and 2027" in decision.state.operating.revocation.evidence


def test_m2_unqualified_grade_during_a_running_rectification_starts_no_second_one():
    """Only when grades come out of order: the running rectification covers the late grade too."""
    t = datetime(2029, 3, 10, 2, tzinfo=timezone.utc)
    state = grade(advance_to(designated(), t), 2028, "不合格", t).state
    decision = grade(state, 2026, "不合格", t)  # 2027 not graded yet: not two in a row
    assert decision.state.phase == "rectifying" and len(decision.state.operating.rectifications) == 1
    assert "already running" in decision.summary


def test_pd15_m4_unqualified_calendar_years_not_in_a_row_do_not_revoke():
    """M4 (4), PD15: two consecutive calendar years both unqualified; 2026 and 2028 are not."""
    t = datetime(2027, 5, 20, 2, tzinfo=timezone.utc)
    state = grade(advance_to(designated(), t), 2026, "不合格", t).state
    t2 = datetime(2028, 5, 20, 2, tzinfo=timezone.utc)
    state = grade(advance_to(state, t2), 2027, "合格", t2).state
    t2b = datetime(2028, 5, 22, 2, tzinfo=timezone.utc)
    state = run(advance_to(state, t2b), "record_rectification_result", bureau(passed=True, report_ref="Z", finding="到位"),
                now=t2b).state
    t3 = datetime(2029, 5, 20, 2, tzinfo=timezone.utc)
    state = grade(advance_to(state, t3), 2028, "不合格", t3).state
    assert state.phase == "rectifying"


def test_m4_revoke_on_a_ground_with_evidence_and_ground_four_needs_the_grades():
    state = advance_to(designated(), DESIGNATED_AT)
    with pytest.raises(Refusal) as info:
        run(state, "revoke", bureau(ground="unqualified_two_years", evidence="?"))
    assert (info.value.rule_id, info.value.field) == ("M4", "ground")
    decision = run(state, "revoke", bureau(ground="research_misconduct", evidence="科研失信认定书 2026-3"))
    assert decision.state.phase == "revoked"
    assert [b.subject_kind for b in decision.bans] == ["implementing_entity", "lead_unit"]


def test_pd3_m3_window_clamped_to_month_end_late_report_taken_and_two_open_at_once():
    now = datetime(2027, 3, 10, 2, tzinfo=timezone.utc)
    state = advance_to(designated(), now)
    change = {"actor": f.actor("implementing_entity"), "kind": "merger", "description": "吸收合并"}
    state = report_change(state, {**change, "request_id": f.rid(), "happened_on": "2026-11-30"}, now).state
    first = state.operating.major_changes[0]
    # PD3 clamps to 28 February 2027, a Sunday; PD10 moves the window's end to Monday 1 March.
    assert first.window_ends_at == end_of_day(date(2027, 3, 1)) and first.late
    assert first.window_nominal_ends_at == end_of_day(date(2027, 2, 28))
    state = report_change(state, {**change, "request_id": f.rid(), "kind": "split", "happened_on": "2027-03-01"},
                          now).state
    assert [c.status for c in state.operating.major_changes] == ["open", "open"]
    assert not state.operating.major_changes[1].late
    with pytest.raises(Refusal) as info:
        run(state, "report_major_change", {**change, "request_id": f.rid(), "happened_on": "2027-04-01"}, now=now)
    assert info.value.field == "happened_on"


def test_m3_review_keeps_or_cancels_from_the_start_of_the_year_of_the_change():
    now = datetime(2027, 3, 10, 2, tzinfo=timezone.utc)
    state = advance_to(designated(), now)
    for day in ("2026-11-30", "2027-01-15"):
        state = report_change(state, {"actor": f.actor("county_department", "dinghai"), "request_id": f.rid(),
                                      "kind": "restructuring", "happened_on": day, "description": "重组"}, now).state
    a, b = state.operating.major_changes
    state = run(state, "record_major_change_review", bureau(change_id=a.id, still_eligible=True, finding="仍符合"), now=now).state
    assert state.phase == "designated" and state.operating.major_changes[0].status == "kept"
    state = run(state, "record_major_change_review", bureau(change_id=b.id, still_eligible=False, finding="不再符合"), now=now).state
    assert state.phase == "cancelled" and state.operating.cancelled_from == date(2027, 1, 1)


def test_m3_change_before_designation_cancels_from_the_designation_not_earlier():
    """M3: a change dated before the designation (10 March 2026) cancels from the designation day, not
    from 1 January of a year the center was not yet designated in."""
    now = datetime(2026, 5, 10, 2, tzinfo=timezone.utc)
    state = advance_to(designated(), now)
    state = run(state, "report_major_change", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                               "kind": "merger", "happened_on": "2026-02-20", "description": "合并"},
                now=now).state
    change = state.operating.major_changes[0]
    decision = run(state, "record_major_change_review", bureau(change_id=change.id, still_eligible=False,
                                                                finding="不再符合"), now=now)
    assert decision.state.operating.cancelled_from == date(2026, 3, 10)
    assert "2026-03-10" in decision.emails[0].body


def test_pd10_m3_report_recorded_before_pd10_keeps_the_nominal_window():
    """docs/rollout.md: a report before PD10 took effect asks for no calendar activity (its history
    has none) and keeps PD3's nominal end."""
    from rules.operating import PD10_WINDOW_FROM, change_window

    now = PD10_WINDOW_FROM - timedelta(days=1)
    state = advance_to(designated(), now)
    payload = {"actor": f.actor("implementing_entity"), "request_id": f.rid(), "kind": "merger",
               "description": "吸收合并", "happened_on": "2026-07-31"}
    assert change_window(state, parse("report_major_change", payload), now) is None
    change = run(state, "report_major_change", payload, now=now).state.operating.major_changes[0]
    assert change.window_ends_at == end_of_day(date(2026, 10, 31)) and change.window_nominal_ends_at is None
