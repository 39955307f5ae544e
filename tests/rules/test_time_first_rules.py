"""Time before actions (issue 9), pure: what has fallen due is applied before an action is judged,
deadlines that share an instant run in a fixed order, and a late wake-up sends no overtaken reminder.
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from typing import Any

import pytest
from pydantic import ValidationError

from models.designation_actions import FileObjection
from models.directory import Role
from models.policy import GUIDELINE_2025, MonthDay
from models.profile import CenterProfile
from models.state import CenterState, Rejection
from rules import engine
from rules.agenda import add_deadline, caught_up, due_now
from rules.calendar import end_of_day
from rules.designation import MAX_OBJECTIONS_PER_NOTICE
from rules.engine import Refusal
from tests.fixtures import factories as f
from tests.fixtures.states import T0, new_state, run
from tests.rules.test_money_rules import grant, granted


def in_notice(state: CenterState | None = None, before_pd16: bool = False) -> tuple[CenterState, Any]:
    """A center whose notice (published Monday 2 March 2026) ends at 24:00 on Friday 6 March;
    ``before_pd16``: published by a run begun before the PD11-PD17 patch (designates by itself)."""
    state = state or new_state()
    state.rule_book_pd11 = not before_pd16
    state = run(state, "submit_application", f.application(), facts=[]).state
    state = run(state, "record_county_review", f.county_review()).state
    state = run(state, "record_city_evaluation", f.city_evaluation(evaluated_on=date(2026, 3, 2))).state
    ends_at = end_of_day(date(2026, 3, 6))
    return run(state, "publish_notice", f.notice(date(2026, 3, 2)), facts=ends_at).state, ends_at


def withdraw() -> dict[str, Any]:
    return {"actor": f.actor("implementing_entity", name="王敏"), "request_id": f.rid(), "reason": "不再建设"}


def test_d7_pd16_an_action_after_the_notice_end_is_judged_on_the_caught_up_state():
    """PD16: the notice end fell due before the designation document was taken up: judged on the
    stale state it would be refused (the notice still runs); the catch-up ends the notice first."""
    state, ends_at = in_notice()
    late = ends_at + timedelta(seconds=4)
    act = engine.parse("issue_designation", f.designation_document(date(2026, 3, 7)))
    with pytest.raises(Refusal) as info:
        engine.check(state, "issue_designation", act, late)  # the bug: judged on a stale state
    assert (info.value.rule_id, info.value.field) == ("PD16", "phase")
    current = caught_up(state, late)
    assert current.notice.ended and current.deadline("designation-document") is not None
    engine.check(current, "issue_designation", act, late)
    assert not state.notice.ended, "the dry run must not change the state it was given"


def test_d7_before_pd16_an_action_after_the_notice_end_is_judged_on_the_designated_center():
    """The notice end fell due before the withdraw was taken up: the catch-up designates first
    (a notice published before PD16, which designates by itself)."""
    state, ends_at = in_notice(before_pd16=True)
    late = ends_at + timedelta(seconds=4)
    engine.check(state, "withdraw", engine.parse("withdraw", withdraw()), late)  # the bug: judged on a stale state
    current = caught_up(state, late)
    assert current.phase == "designated" and current.notice.ended
    with pytest.raises(Refusal) as info:
        engine.check(current, "withdraw", engine.parse("withdraw", withdraw()), late)
    assert info.value.field == "phase" and "designated" in info.value.message
    assert state.phase == "public_notice", "the dry run must not change the state it was given"


@pytest.mark.parametrize("before_pd16, outcome", [
    (True, ("designated", False, 0)),  # the notice that ran its course designates before the S3 lapse
    (False, ("public_notice", True, 0)),  # PD16: the document is not issued yet; PD14: nothing clawed back
])
def test_s3_and_notice_end_at_the_same_instant_give_one_outcome_in_either_agenda_order(before_pd16, outcome):
    """Same-instant precedence (docs/decisions.md): the notice end runs before the S3 deadline of the
    same 24:00, whatever the agenda's order. Under PD16 the designation is the bureau's document, so
    a notice ending at the S3 deadline is too late (the bureau is reminded of S3, PD9)."""
    state = new_state()
    state.rule_book_pd11 = not before_pd16
    state = granted(state, grant(2024), T0.replace(year=2024)).state
    state, ends_at = in_notice(state, before_pd16)
    s3 = state.deadline("s3-designation")
    s3.due_at = ends_at  # both end at 24:00 on 6 March 2026
    outcomes = []
    for order in (list(state.agenda), list(reversed(state.agenda))):
        variant = state.model_copy(deep=True)
        variant.agenda = [d.model_copy() for d in order]
        done = caught_up(variant, ends_at)
        outcomes.append((done.phase, done.subsidy.s3_lapsed, len(done.subsidy.clawbacks)))
    assert outcomes[0] == outcomes[1] == outcome


def test_pd9_a_late_wake_up_sends_only_the_newest_reminder():
    """Worker down for weeks: the 30- and 7-day reminders were overtaken by the 1-day one."""
    state = new_state()
    due = end_of_day(date(2026, 6, 30))
    add_deadline(state, id="probe", kind="annual_report", rule_id="M7", due_at=due, now=T0,
                 who_acts=Role.IMPLEMENTING_ENTITY,
                 title_zh="测试", title_en="probe")
    late = due - timedelta(hours=12)
    decision = due_now(state, late, ordered=True)
    assert decision is not None and decision.event == "reminder"
    assert [e.key.rsplit(":", 1)[-1] for e in decision.emails] == ["1"]
    assert "overtaken, not sent: 30 days, 7 days" in decision.summary
    assert decision.state.deadline("probe").reminders_sent == [30, 7, 1]
    assert due_now(decision.state, late, ordered=True) is None


def test_pd9_a_wake_up_after_the_due_time_sends_no_reminder_only_the_deadline():
    state = new_state()
    due = end_of_day(date(2026, 6, 30))
    add_deadline(state, id="probe", kind="annual_report", rule_id="M7", due_at=due, now=T0,
                 who_acts=Role.IMPLEMENTING_ENTITY, title_zh="测试", title_en="probe")
    decision = due_now(state, due + timedelta(days=3), ordered=True)
    assert decision is not None and decision.event == "due:annual_report"
    assert [e.key for e in decision.emails] and all("remind" not in e.key for e in decision.emails)
    assert due_now(decision.state, due + timedelta(days=3), ordered=True) is None


def test_pd9_without_the_patch_the_old_order_is_kept():
    """Runs recorded before due-before-actions replay with the old choice: every reminder in turn."""
    state = new_state()
    due = end_of_day(date(2026, 6, 30))
    add_deadline(state, id="probe", kind="annual_report", rule_id="M7", due_at=due, now=T0,
                 who_acts=Role.IMPLEMENTING_ENTITY, title_zh="测试", title_en="probe")
    decision = due_now(state, due - timedelta(hours=12))
    assert decision is not None and decision.state.deadline("probe").reminders_sent == [30]


def test_request_id_may_not_carry_the_key_separator():
    """A request_id such as 's3-designation:2027' would take the key of a later S3 clawback."""
    payload = grant(2026) | {"request_id": "s3-designation:2027"}
    with pytest.raises(Refusal) as info:
        engine.parse("grant_advance", payload)
    assert info.value.field == "request_id"


@pytest.mark.parametrize("month, day", [(2, 29), (4, 31), (6, 31), (11, 31)])
def test_pd8_a_yearly_day_must_exist_in_every_year(month: int, day: int):
    with pytest.raises(ValidationError, match="not a day of every year"):
        MonthDay(month=month, day=day)
    with pytest.raises(ValidationError):
        GUIDELINE_2025.model_validate(GUIDELINE_2025.model_dump() | {"annual_report_due": {"month": month, "day": day}})
    assert MonthDay(month=2, day=28).day == 28


@pytest.mark.parametrize("field, value", [
    ("proposed_name", "舟山新材料\n创新平台"), ("proposed_name", "平台\x0b名"), ("proposed_name", "平台\x85名"),
    ("proposed_name", "平台\u2028名"), ("field_name_zh", "海洋\n装备"), ("proposed_name", "\u202e台平新创"),
])
def test_a_poisoned_name_is_refused_at_the_door(field: str, value: str):
    data = f.profile_data(**({"field": "other_marine"} if field == "field_name_zh" else {})) | {field: value}
    with pytest.raises(ValidationError) as info:
        CenterProfile.model_validate(data)
    assert info.value.errors()[0]["loc"][0] == field
    assert "control character" in str(info.value)


@pytest.mark.parametrize("field", ["objector", "contact", "grounds"])
def test_d7_a_nul_byte_in_an_objection_is_refused_with_the_field_named(field: str):
    payload = {"actor": f.actor("public", name="李某"), "request_id": f.rid(), "objector": "李某",
               "contact": "li@example.com", "grounds": "材料不实"} | {field: "bad\x00text"}
    with pytest.raises(Refusal) as info:
        engine.parse("file_objection", payload)
    assert info.value.field == field and "U+0000" in info.value.message


def test_d7_line_breaks_stay_in_grounds_but_nowhere_else():
    ok = FileObjection.model_validate({"actor": f.actor("public", name="李某"), "request_id": f.rid(),
                                       "objector": "李某", "contact": "li", "grounds": "第一点\r\n第二点"})
    assert ok.grounds == "第一点\n第二点"


def test_d7_objections_per_notice_are_capped_with_the_reason():
    state, ends_at = in_notice()
    now = ends_at - timedelta(days=1)
    for n in range(MAX_OBJECTIONS_PER_NOTICE):
        state = run(state, "file_objection", {"actor": f.actor("public", name=f"公众{n}"), "request_id": f.rid(),
                                              "objector": f"公众{n}", "contact": "x", "grounds": "异议"}, now).state
    with pytest.raises(Refusal) as info:
        run(state, "file_objection", {"actor": f.actor("public", name="又一位"), "request_id": f.rid(),
                                      "objector": "又一位", "contact": "x", "grounds": "异议"}, now)
    assert info.value.field == "objection" and str(MAX_OBJECTIONS_PER_NOTICE) in info.value.message


def test_a_worst_case_state_stays_far_below_temporal_payload_limits():
    """Every text and list is bounded, so even a state filled to every bound fits: objections at the
    cap with the longest grounds (3-byte characters), the most contacts and partners, the kept
    refusals and answers. Temporal refuses payloads over 2 MB; the budget is a quarter of that."""
    state, ends_at = in_notice()
    now = ends_at - timedelta(days=1)
    for n in range(MAX_OBJECTIONS_PER_NOTICE):
        state = run(state, "file_objection", {"actor": f.actor("public", name="公" * 100), "request_id": f.rid(),
                                              "objector": "异" * 200, "contact": "c" * 200, "grounds": "议" * 2000}, now).state
    state.rejected = [Rejection(at=now, action="file_objection", request_id="r" * 120, actor="名" * 100, via="signal",
                                rule_id="D7", field="f" * 200, message="m" * 1000)] * 50
    size = len(json.dumps(state.model_dump(mode="json"), ensure_ascii=False).encode())
    assert size < 512 * 1024, size


def test_a_refusal_is_bounded_whatever_it_echoes():
    refusal = Refusal("D4", "x" * 10_000, "y" * 1_000_000)
    assert len(refusal.field) == 200 and len(refusal.message) == 1000


def test_search_attributes_the_previous_run_set_are_unset_when_gone():
    """After continue-as-new the run starts from the server's attributes, not from nothing, so a
    NextDeadline the old run set and the new state lacks is unset (and unchanged ones are not resent)."""
    from temporalio.common import SearchAttributePair

    from models import search_attributes as sa
    from workflows.visibility import changes

    at = end_of_day(date(2027, 3, 31))
    before = [SearchAttributePair(sa.CENTER_PHASE, "designated"), SearchAttributePair(sa.NEXT_DEADLINE, at)]
    after = [SearchAttributePair(sa.CENTER_PHASE, "designated")]
    (update,) = changes(before, after)
    assert update.key.name == "NextDeadline" and update.value is None
    assert changes(after, after) == []
