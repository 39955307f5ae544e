"""Pure tests of the designation rules (D3-D7, M6, PD7) without a server."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from models.effects import Ban
from rules.engine import Refusal
from rules.agenda import due_now
from tests.fixtures import factories as f
from tests.fixtures.states import T0, new_state, run


def applied(**profile_changes):
    return run(new_state(**profile_changes), "submit_application", f.application(), facts=[]).state


def evaluated():
    state = applied()
    state = run(state, "record_county_review", f.county_review()).state
    return run(state, "record_city_evaluation", f.city_evaluation()).state


@pytest.mark.parametrize("path", [
    "checklist.independent_legal_person",
    "checklist.innovation_functions.proof_of_concept",
    "checklist.resource_integration",
    "checklist.compliance.no_serious_violation_last_3_years",
])
def test_d3_each_unmet_condition_is_refused_by_name(path):
    payload = f.application()
    node = payload
    *parents, leaf = path.split(".")
    for key in parents:
        node = node[key]
    node[leaf] = {"met": False, "evidence": "未满足"}
    with pytest.raises(Refusal) as info:
        run(new_state(), "submit_application", payload, facts=[])
    assert (info.value.rule_id, info.value.field) == ("D3", path)


def test_d3_inadmissible_lead_unit_kind_is_refused():
    payload = f.application()
    payload["checklist"]["lead_unit_kind"] = "other"
    with pytest.raises(Refusal) as info:
        run(new_state(), "submit_application", payload)
    assert info.value.field == "checklist.lead_unit_kind"


def test_d4_commitment_letter_is_mandatory_and_application_moves_to_county_review():
    with pytest.raises(Refusal) as info:
        run(new_state(), "submit_application", f.application(commitment_letter=None))
    assert (info.value.rule_id, info.value.field) == ("D4", "commitment_letter")
    assert applied().phase == "county_review"


def test_m6_each_partner_needs_a_signed_cooperation_agreement():
    partner = {"name": "浙江海洋大学", "credit_code": f.government_code(7)}
    state = new_state(partners=[partner])
    with pytest.raises(Refusal) as info:
        run(state, "submit_application", f.application())
    assert info.value.rule_id == "M6" and partner["credit_code"].upper() in info.value.field
    ok = run(state, "submit_application", f.application(partner_agreements={partner["credit_code"].upper(): "HZ-1"}), facts=[])
    assert ok.state.phase == "county_review"


def test_pd7_application_inside_a_ban_is_refused_with_the_end_date():
    state = new_state()
    ban = Ban(key="b", center_id="old", subject_kind="implementing_entity",
              credit_code=state.profile.implementing_entity.credit_code, subject_name="某公司", scope="any",
              rule_id="M2", starts_on=date(2025, 6, 1), ends_on=date(2027, 5, 31), reason="delisted")
    with pytest.raises(Refusal) as info:
        run(state, "submit_application", f.application(), facts=[ban])
    assert info.value.rule_id == "PD7" and "2027-05-31" in info.value.message


def test_d5_only_own_county_and_no_recommendation_with_a_failed_finding():
    state = applied()
    with pytest.raises(Refusal) as info:
        run(state, "record_county_review", f.county_review(county="putuo"))
    assert info.value.field == "actor.county"
    with pytest.raises(Refusal) as info:
        run(state, "record_county_review", f.county_review(credit={"ok": False, "note": "失信记录"}))
    assert (info.value.rule_id, info.value.field) == ("D5", "credit")
    assert run(state, "record_county_review", f.county_review(recommend=False)).state.phase == "rejected"


def test_d6_evaluation_once_not_in_future_and_rejection_ends():
    state = run(applied(), "record_county_review", f.county_review()).state
    with pytest.raises(Refusal) as info:
        run(state, "record_city_evaluation", f.city_evaluation(evaluated_on=date(2026, 3, 3)))
    assert info.value.field == "evaluated_on"
    assert run(state, "record_city_evaluation", f.city_evaluation(propose=False)).state.phase == "rejected"
    done = run(state, "record_city_evaluation", f.city_evaluation()).state
    with pytest.raises(Refusal):
        run(done, "record_city_evaluation", f.city_evaluation())


def test_d7_notice_needs_a_proposal_and_designates_with_the_official_name():
    state = evaluated()
    ends = datetime(2026, 3, 6, 16, 0, tzinfo=timezone.utc)
    with pytest.raises(Refusal) as info:
        run(state, "publish_notice", f.notice(date(2026, 3, 1)), facts=ends)
    assert info.value.field == "published_on"
    state = run(state, "publish_notice", f.notice(date(2026, 3, 2)), facts=ends).state
    assert state.phase == "public_notice" and state.deadline("notice-end").due_at == ends
    decision = due_now(state, ends)
    assert decision.state.phase == "designated"
    assert decision.state.designation.name == "舟山市新材料产业创新中心"
    assert decision.state.designation.on == date(2026, 3, 7)


def test_d7_objection_only_while_notice_runs_and_upheld_rejects():
    ends = T0 + timedelta(days=5)
    state = run(evaluated(), "publish_notice", f.notice(date(2026, 3, 2)), facts=ends).state
    objection = {"actor": f.actor("public", name="李某"), "request_id": f.rid(),
                 "objector": "李某", "contact": "li@example.com", "grounds": "不实"}
    state = run(state, "file_objection", objection).state
    with pytest.raises(Refusal) as info:
        run(state, "file_objection", {**objection, "request_id": f.rid()}, now=ends)
    assert (info.value.rule_id, info.value.field) == ("D7", "notice")
    held = due_now(state, ends).state
    assert held.phase == "public_notice" and held.notice.ended
    upheld = run(held, "resolve_objection", {"actor": f.actor("city_bureau"), "request_id": f.rid(),
                                             "objection_id": held.objections[0].id, "outcome": "upheld",
                                             "finding": "属实"}, now=ends)
    assert upheld.state.phase == "rejected" and upheld.state.agenda == []


def test_withdraw_only_before_designation():
    state = applied()
    done = run(state, "withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(), "reason": "调整"})
    assert done.state.phase == "withdrawn"
    with pytest.raises(Refusal) as info:
        run(done.state, "withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(), "reason": "x"})
    assert info.value.field == "phase"
