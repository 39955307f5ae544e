"""Pure tests of the pipeline, the agenda (PD9), the policy (PD8) and the profile at the door (D1, D2)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from pydantic import ValidationError

from models.directory import Role
from models.policy import GUIDELINE_2025, Policy
from models.profile import CenterProfile
from rules.agenda import add_deadline, due_now, next_wakeup
from rules.designation import open_lifecycle
from rules.engine import ACTIONS, Refusal
from tests.fixtures import factories as f
from tests.fixtures.states import T0, new_state, run

RULE_ID = re.compile(r"\b(PD\d+|[DSM]\d)\b")


def test_pd8_every_policy_number_cites_its_rule():
    for name, field in Policy.model_fields.items():
        if name in ("version", "effective_from", "source"):
            continue
        assert field.description and RULE_ID.search(field.description), f"{name} cites no rule ID"


def test_pd8_policy_is_frozen_data_with_a_dated_source():
    assert GUIDELINE_2025.effective_from.isoformat() == "2025-10-21"
    with pytest.raises(ValidationError):
        GUIDELINE_2025.notice_working_days = 7  # type: ignore[misc]
    revised = GUIDELINE_2025.model_copy(update={"version": "rev", "notice_working_days": 7})
    state = new_state(policy=revised)
    assert state.policy.notice_working_days == 7 and GUIDELINE_2025.notice_working_days == 5


def test_d1_both_routes_open_in_preparing_and_tell_contact_and_county():
    for route in ("directed", "merit"):
        decision = open_lifecycle(new_state(route=route), T0)
        assert decision.state.phase == "preparing"
        (email,) = decision.emails
        assert "wangmin@center.example" in email.to and "kj-dinghai@zhoushan.example" in email.to
        assert "[D1]" in email.subject


def test_d2_other_marine_field_needs_its_name_and_names_the_center():
    with pytest.raises(ValidationError, match="field_name_zh"):
        f.profile(field="other_marine")
    profile = f.profile(field="other_marine", field_name_zh="海洋电子信息")
    assert profile.designated_name == "舟山市海洋电子信息产业创新中心"
    assert f.profile(field="ships_offshore").designated_name == "舟山市船舶和海工装备产业创新中心"


@pytest.mark.parametrize("change, field", [
    ({"implementing_entity": {"name": "某公司", "credit_code": "91330900MA2A0B1C2X"}}, "implementing_entity.credit_code"),
    ({"county": "hangzhou"}, "county"),
    ({"contacts": [{"name": "王敏"}]}, "contacts.0.email"),
    ({"contacts": []}, "contacts"),
])
def test_d1_bad_profile_is_refused_at_the_door_naming_the_field(change, field):
    with pytest.raises(ValidationError) as info:
        CenterProfile.model_validate(f.profile_data(**change))
    locations = [".".join(str(p) for p in e["loc"]) for e in info.value.errors()]
    assert field in locations


def test_every_action_names_its_rules_roles_and_description():
    assert {"submit_application", "record_county_review", "record_city_evaluation", "publish_notice",
            "file_objection", "resolve_objection", "withdraw"} <= set(ACTIONS)
    for spec in ACTIONS.values():
        assert spec.rule_ids and spec.roles and spec.description


def test_refusal_for_wrong_role_names_actor_role():
    with pytest.raises(Refusal) as info:
        run(new_state(), "submit_application", f.application(actor=f.actor("city_bureau")))
    assert (info.value.rule_id, info.value.field) == ("D3", "actor.role")


def test_refusal_for_bad_payload_names_the_field():
    payload = f.application()
    payload["checklist"]["resource_integration"] = {"met": "perhaps"}
    with pytest.raises(Refusal) as info:
        run(new_state(), "submit_application", payload)
    assert info.value.field.startswith("checklist.resource_integration")


def test_pd9_reminders_30_7_1_days_before_then_overdue():
    state = new_state()
    due = T0 + timedelta(days=60)
    add_deadline(state, id="report", kind="test_task", rule_id="M7", due_at=due, now=T0,
                 who_acts=Role.IMPLEMENTING_ENTITY, title_zh="年度报告", title_en="annual report")
    from rules.agenda import mark_overdue
    from rules.engine import DUE_HANDLERS
    DUE_HANDLERS.setdefault("test_task", mark_overdue)

    seen = []
    while (wake := next_wakeup(state)) is not None:
        decision = due_now(state, wake[0])
        assert decision is not None
        state = decision.state
        seen.append((round((due - wake[0]) / timedelta(days=1)), decision.event, decision.emails[0].subject))
    assert [(days, event) for days, event, _ in seen] == [(30, "reminder"), (7, "reminder"), (1, "reminder"), (0, "due:test_task")]
    assert "Overdue" in seen[-1][2] and state.deadline("report").overdue
    assert all("[M7]" in subject for _, _, subject in seen)


def test_pd9_no_reminder_for_a_time_already_past_when_the_deadline_opened():
    state = new_state()
    add_deadline(state, id="soon", kind="test_task", rule_id="M3", due_at=T0 + timedelta(days=5), now=T0,
                 who_acts=Role.IMPLEMENTING_ENTITY, title_zh="报告", title_en="report")
    assert next_wakeup(state)[0] == T0 + timedelta(days=4)
