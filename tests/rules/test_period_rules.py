"""PD10: periods counted as Chinese law counts them (Civil Code arts. 201-203), without a server.

The calendars here are built explicitly (shipped data for 2026, made-up tables labelled as such for
later years), so the tests do not depend on the day they run.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest

from models.calendar import PeriodEndsAnswer, SettledPeriod
from models.effects import Ban
from rules.calendar import WorkingDayCalendar, end_of_day, legal_last_day, load_overrides, period_end
from rules.messages import period_note
from rules.periods import answer_period_ends, ban_end_text, held_due, settle_provisional
from tests.fixtures.calendar import packaged_calendar
from tests.rules.test_operating_rules import advance_to, designated, grade

# Made up for the tests (not a State Council schedule): 2027 with a Spring Festival break and one make-up Saturday.
TEST_2027 = """
[2027]
source = "TEST FIXTURE, not the real 2027 schedule"
holidays = [2027-01-01, 2027-02-05, 2027-02-06, 2027-02-07, 2027-02-08, 2027-02-09, 2027-02-10, 2027-02-11]
workdays = [2027-02-20]
"""


def calendar(tmp_path: Path, text: str = TEST_2027) -> WorkingDayCalendar:
    path = tmp_path / "working_days.toml"
    path.write_text(text, encoding="utf-8")
    return WorkingDayCalendar(load_overrides([path]))


# -- the counting (pure) -----------------------------------------------------------------------------


def test_pd10_three_month_window_ending_on_a_sunday_moves_to_monday(tmp_path: Path) -> None:
    """The issue's example: a change on 2026-11-30 has a window ending Sunday 2027-02-28 (PD3 clamps),
    so the report is due on Monday 1 March, at 24:00 (PD1)."""
    end = period_end(date(2026, 11, 30), months=3, calendar=calendar(tmp_path))
    assert end.nominal == date(2027, 2, 28) and end.nominal.weekday() == 6
    assert end.last_day == date(2027, 3, 1) and end.moved and not end.provisional
    assert end.due_at == datetime(2027, 3, 1, 16, 0, tzinfo=timezone.utc)


def test_pd10_rectification_year_ending_on_the_last_day_of_national_day_2026_moves_to_the_first_working_day() -> None:
    """National Day 2026: 1-7 October off (State Council notice). A rectification from 7 October 2025
    nominally ends Wednesday 7 October 2026, a holiday: it ends on Thursday 8 October."""
    end = period_end(date(2025, 10, 7), years=1, calendar=packaged_calendar())
    assert end.nominal == date(2026, 10, 7) and end.nominal.weekday() == 2
    assert end.last_day == date(2026, 10, 8)
    assert end.due_at == end_of_day(date(2026, 10, 8))


def test_pd10_period_ending_on_a_make_up_working_saturday_does_not_move() -> None:
    """Saturday 10 October 2026 is an adjusted working day (调休): a period ending there ends there."""
    end = period_end(date(2025, 10, 10), years=1, calendar=packaged_calendar())
    assert end.nominal == date(2026, 10, 10) and end.nominal.weekday() == 5
    assert end.last_day == date(2026, 10, 10) and not end.moved


def test_pd10_31_august_plus_6_months_is_the_last_day_of_february(tmp_path: Path) -> None:
    """Art. 202: no corresponding day, so the month's last day; the day of the event is not counted."""
    made_up = calendar(tmp_path, TEST_2027 + '[2028]\nsource = "TEST FIXTURE"\nholidays = [2028-01-01]\n')
    assert period_end(date(2026, 8, 31), months=6, calendar=made_up).nominal == date(2027, 2, 28)
    assert period_end(date(2027, 8, 31), months=6, calendar=made_up).nominal == date(2028, 2, 29)  # leap year
    # 28 Feb 2027 is a Sunday: moved to Monday 1 March.
    assert period_end(date(2026, 8, 31), months=6, calendar=made_up).last_day == date(2027, 3, 1)


def test_pd10_a_break_of_several_rest_days_moves_past_all_of_them(tmp_path: Path) -> None:
    """A period ending on the first day of the (made-up) Spring Festival break ends after the whole break."""
    made_up = calendar(tmp_path)
    assert legal_last_day(date(2027, 2, 5), made_up) == date(2027, 2, 12)


def test_pd10_period_ending_in_a_year_without_data_is_provisional_at_its_nominal_end() -> None:
    shipped = packaged_calendar()
    lacking = max(shipped.covered_years()) + 2
    end = period_end(date(lacking - 2, 6, 3), years=2, calendar=shipped)
    assert end.provisional and end.last_day is None and end.nominal == date(lacking, 6, 3)
    assert end.due_at == end_of_day(date(lacking, 6, 3))
    # Workflow code passes no calendar at all: always provisional, settled later by the activity.
    assert period_end(date(2025, 10, 7), years=1).provisional


def test_pd10_a_period_needs_a_positive_length() -> None:
    with pytest.raises(ValueError, match="PD10"):
        period_end(date(2026, 1, 1))


# -- provisional deadlines in the state (pure) ------------------------------------------------------


T_GRADE = datetime(2027, 5, 20, 2, tzinfo=timezone.utc)  # 2027-05-20 10:00 Shanghai


def rectifying():
    """Designated in March 2026, 2026 graded unqualified on 20 May 2027: rectification until 20 May 2028."""
    return grade(advance_to(designated(), T_GRADE), 2026, "不合格", T_GRADE).state


def test_pd10_rules_open_period_deadlines_provisional_at_the_nominal_end() -> None:
    state = rectifying()
    deadline = state.deadline("rectification-2026")
    assert deadline.provisional and deadline.due_at == end_of_day(date(2028, 5, 20))
    assert deadline.nominal_due_at == end_of_day(date(2028, 5, 20))
    assert "provisional: nominal last day 2028-05-20" in period_note(deadline)[1]


def test_pd10_provisional_deadline_settles_when_the_data_exists() -> None:
    """The activity's answer moves a rest-day end (20 May 2028 is a Saturday) to Monday 22 May."""
    state = rectifying()
    answer = PeriodEndsAnswer(settled=[SettledPeriod(nominal=date(2028, 5, 20), last_day=date(2028, 5, 22))])
    decision = settle_provisional(state, answer, T_GRADE)
    deadline = decision.state.deadline("rectification-2026")
    assert not deadline.provisional and deadline.due_at == end_of_day(date(2028, 5, 22))
    assert deadline.nominal_due_at == end_of_day(date(2028, 5, 20))
    assert decision.state.operating.rectifications[-1].due_at == deadline.due_at  # the record follows
    assert decision.state.revision == state.revision + 1 and "PD10" in decision.rule_ids
    (moved,) = decision.emails
    assert "2028-05-22" in moved.body and "2028-05-20" in moved.body and moved.rule_id == "PD10"
    assert "moved to 2028-05-22" in period_note(deadline)[1]


def test_pd10_a_nominal_working_day_settles_without_a_note() -> None:
    state = rectifying()
    answer = PeriodEndsAnswer(settled=[SettledPeriod(nominal=date(2028, 5, 20), last_day=date(2028, 5, 20))])
    deadline = settle_provisional(state, answer, T_GRADE).state.deadline("rectification-2026")
    assert not deadline.provisional and deadline.nominal_due_at is None and period_note(deadline) == ("", "")


def test_pd10_provisional_deadline_is_held_with_an_alert_when_the_data_is_missing_at_its_due_time() -> None:
    state = rectifying()
    missing = PeriodEndsAnswer(missing_years=[2028])
    assert settle_provisional(state, missing, T_GRADE) is None  # not due yet: nothing to do
    due = end_of_day(date(2028, 5, 20))
    assert held_due(state, due) and not held_due(state, due - timedelta(seconds=1))
    held = settle_provisional(state, missing, due)
    deadline = held.state.deadline("rectification-2026")
    assert deadline.provisional and deadline.held_since == due and deadline.due_at == due + timedelta(days=1)
    assert deadline.nominal_due_at == due and not deadline.overdue
    assert held.state.phase == "rectifying"  # it did not fire
    (alert,) = held.emails
    assert alert.to == [str(state.offices.city_bureau_email)] and "2028" in alert.body and "never" in alert.body
    # Checked again a day later, still missing: no second alert.
    again = settle_provisional(held.state, missing, deadline.due_at)
    assert again.emails == [] and again.state.deadline("rectification-2026").held_since == due
    # The data arrives: the legal end (Monday 22 May) has passed, so it is due at once.
    later = again.state.deadline("rectification-2026").due_at
    answer = PeriodEndsAnswer(settled=[SettledPeriod(nominal=date(2028, 5, 20), last_day=date(2028, 5, 22))])
    settled = settle_provisional(again.state, answer, later).state.deadline("rectification-2026")
    assert not settled.provisional and settled.held_since is None and settled.due_at == end_of_day(date(2028, 5, 22))


def test_pd10_the_activity_answer_comes_from_the_calendar(tmp_path: Path) -> None:
    answer = answer_period_ends([date(2027, 2, 28), date(2029, 3, 1), date(2027, 2, 28)], calendar(tmp_path))
    assert answer.settled == [SettledPeriod(nominal=date(2027, 2, 28), last_day=date(2027, 3, 1))]
    assert answer.missing_years == [2029] and answer.last_day(date(2029, 3, 1)) is None


def test_pd10_pd7_ban_end_shows_nominal_and_legal_days() -> None:
    ban = Ban(key="k", center_id="c", subject_kind="lead_unit", credit_code="x", subject_name="n", scope="same_type",
              field="new_materials", rule_id="M4", starts_on=date(2026, 5, 20), ends_on=date(2028, 5, 22),
              nominal_ends_on=date(2028, 5, 20), reason="r")
    assert ban_end_text(ban) == "2028-05-22 (nominal last day 2028-05-20, a rest day)"
    provisional = ban.model_copy(update={"ends_on": date(2028, 5, 20), "provisional": True})
    assert "provisional" in ban_end_text(provisional)


def test_pd10_provisional_moved_and_held_ends_are_shown_in_show_and_ui_details() -> None:
    """`centers show` and the UI's current details mark a provisional end, a moved end and a held one."""
    from centers.render import state_text
    from workflows.visibility import current_details

    state = rectifying()
    assert "provisional: nominal last day 2028-05-20" in state_text(state, T_GRADE)
    assert "provisional: nominal last day 2028-05-20" in current_details(state)
    answer = PeriodEndsAnswer(settled=[SettledPeriod(nominal=date(2028, 5, 20), last_day=date(2028, 5, 22))])
    moved = settle_provisional(state, answer, T_GRADE).state
    assert "2028-05-22 24:00" in state_text(moved, T_GRADE) and "rest day: moved to 2028-05-22" in state_text(moved, T_GRADE)
    held = settle_provisional(state, PeriodEndsAnswer(missing_years=[2028]), end_of_day(date(2028, 5, 20))).state
    shown = state_text(held, end_of_day(date(2028, 5, 20)))
    assert "HELD" in shown and "2028-05-20 24:00" in shown and "HELD" in current_details(held)


def test_pd10_pd7_centers_show_lists_bans_with_their_legal_and_nominal_last_days() -> None:
    from centers.render import state_text

    state = rectifying()
    state.bans = [Ban(key="k", center_id="c", subject_kind="implementing_entity", credit_code="x", subject_name="n",
                      scope="any", rule_id="M2", starts_on=date(2026, 5, 20), ends_on=date(2028, 5, 22),
                      nominal_ends_on=date(2028, 5, 20), reason="r")]
    assert "2028-05-22 (nominal last day 2028-05-20, a rest day)" in state_text(state, T_GRADE)


def test_pd10_the_calendar_signal_concerns_the_years_the_provisional_ends_wait_for() -> None:
    from rules.periods import years_needed

    state = rectifying()
    assert years_needed(state) == {2028}
    state.deadline("rectification-2026").nominal_due_at = end_of_day(date(2028, 12, 31))  # may move into 2029
    assert years_needed(state) == {2028, 2029}
