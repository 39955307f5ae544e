"""Pure tests of the designation rules (D3-D7, M6, PD7, PD16, PD17) without a server."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from models.effects import Ban
from rules.engine import Refusal
from rules.agenda import due_now
from rules.calendar import end_of_day
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


def test_pd17_other_lead_unit_kind_needs_the_bureaus_exception_at_the_city_evaluation():
    """PD17, D3 (1): "in principle" admits another kind of lead unit only with an exception the bureau
    records at the city evaluation; without it the center cannot be proposed."""
    payload = f.application()
    payload["checklist"]["lead_unit_kind"] = "other"
    state = run(new_state(), "submit_application", payload, facts=[]).state
    assert state.application.lead_unit_kind == "other"
    state = run(state, "record_county_review", f.county_review()).state
    with pytest.raises(Refusal) as info:
        run(state, "record_city_evaluation", f.city_evaluation())
    assert (info.value.rule_id, info.value.field) == ("PD17", "lead_unit_exception")
    excepted = run(state, "record_city_evaluation", f.city_evaluation(lead_unit_exception="市政府专题会议纪要〔2026〕5号"))
    assert excepted.state.city_evaluation.lead_unit_exception.startswith("市政府")
    assert run(state, "record_city_evaluation", f.city_evaluation(propose=False)).state.phase == "rejected"


def test_d3_enterprise_credit_code_declared_as_a_government_is_refused():
    """D3 (1): a government lead unit's credit code is a government body's (11...), not an enterprise's (91...)."""
    state = new_state(lead_unit={"name": "定海区人民政府", "credit_code": f.credit_code(42)})
    with pytest.raises(Refusal) as info:
        run(state, "submit_application", f.application(), facts=[])
    assert (info.value.rule_id, info.value.field) == ("D3", "checklist.lead_unit_kind")
    assert "91" in info.value.message


@pytest.mark.parametrize("change, field", [
    ({"signed_by": "舟山新材料创新中心有限公司"}, "commitment_letter.signed_by"),  # the implementing entity
    ({"signed_on": "2030-01-01"}, "commitment_letter.signed_on"),
])
def test_d4_pd17_letter_signed_by_the_lead_unit_no_later_than_the_application(change, field):
    payload = f.application()
    payload["commitment_letter"] = payload["commitment_letter"] | change
    with pytest.raises(Refusal) as info:
        run(new_state(), "submit_application", payload, facts=[])
    assert (info.value.rule_id, info.value.field) == ("PD17", field)


def test_d4_pd17_construction_plan_is_required_and_only_the_implementing_entity_applies():
    with pytest.raises(Refusal) as info:
        run(new_state(), "submit_application", f.application(construction_plan=None, materials=[]), facts=[])
    assert (info.value.rule_id, info.value.field) == ("PD17", "construction_plan")
    with pytest.raises(Refusal) as info:
        run(new_state(), "submit_application", f.application(actor=f.actor("county_department", "dinghai")), facts=[])
    assert info.value.field == "actor.role"
    state = run(new_state(), "submit_application", f.application(), facts=[]).state
    assert state.application.construction_plan_ref == "建设方案 JS-2026-001"


def test_m6_joint_lead_unit_without_partners_is_refused():
    """M6: a county government jointly with other units has partners, each with an agreement."""
    payload = f.application()
    payload["checklist"]["lead_unit_kind"] = "county_government_joint"
    with pytest.raises(Refusal) as info:
        run(new_state(), "submit_application", payload, facts=[])
    assert (info.value.rule_id, info.value.field) == ("M6", "checklist.lead_unit_kind")


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
    state = due_now(state, ends).state
    assert state.phase == "public_notice" and state.deadline("designation-document") is not None
    issued = run(state, "issue_designation", f.designation_document(date(2026, 3, 9)), now=ends + timedelta(days=3),
                 facts=[])
    assert issued.state.phase == "designated"
    assert issued.state.designation.name == "舟山市新材料产业创新中心"
    assert (issued.state.designation.on, issued.state.designation.document_ref) == (date(2026, 3, 9), "舟科发〔2026〕18号")
    assert issued.state.deadline("designation-document") is None


def test_pd16_designation_document_after_the_notice_with_a_unique_name_under_a_deadline():
    """PD16: the bureau issues the document after a clean notice (number, date, name), under a
    deadline with reminders to the bureau; the name must be free among live centers."""
    ends = datetime(2026, 3, 6, 16, 0, tzinfo=timezone.utc)
    state = run(evaluated(), "publish_notice", f.notice(date(2026, 3, 2)), facts=ends).state
    early = f.designation_document(date(2026, 3, 6))
    with pytest.raises(Refusal) as info:
        run(state, "issue_designation", early, now=ends - timedelta(hours=1), facts=[])
    assert (info.value.rule_id, info.value.field) == ("PD16", "phase")
    state = due_now(state, ends).state
    deadline = state.deadline("designation-document")
    assert (deadline.rule_id, deadline.who_acts) == ("PD16", "city_bureau") and deadline.reminders
    assert deadline.due_at == end_of_day(date(2026, 3, 7) + timedelta(days=30))
    later = ends + timedelta(days=3)
    for bad, field in ((f.designation_document(date(2026, 3, 6)), "issued_on"),  # the notice's last day
                       (f.designation_document(date(2026, 3, 20)), "issued_on"),  # in the future
                       (f.designation_document(date(2026, 3, 9), name_xx="舟山市新材料"), "name_xx")):
        with pytest.raises(Refusal) as info:
            run(state, "issue_designation", bad, now=later, facts=[])
        assert (info.value.rule_id, info.value.field) == ("PD16", field)
    with pytest.raises(Refusal) as info:
        run(state, "issue_designation", f.designation_document(date(2026, 3, 9)), now=later, facts=["c-other"])
    assert (info.value.rule_id, info.value.field) == ("PD16", "name_xx") and "c-other" in info.value.message
    named = run(state, "issue_designation", f.designation_document(date(2026, 3, 9), name_xx="海洋新材料"),
                now=later, facts=[]).state
    assert named.designation.name == "舟山市海洋新材料产业创新中心"


def test_pd16_objection_open_at_the_notice_end_is_a_deadline_for_the_bureau():
    ends = T0 + timedelta(days=5)
    state = run(evaluated(), "publish_notice", f.notice(date(2026, 3, 2)), facts=ends).state
    objection = {"actor": f.actor("public", name="李某"), "request_id": f.rid(),
                 "objector": "李某", "contact": "li@example.com", "grounds": "不实"}
    state = run(state, "file_objection", objection).state
    held = due_now(state, ends).state
    deadline = held.deadline("objections-open")
    assert (deadline.rule_id, deadline.who_acts) == ("PD16", "city_bureau") and held.deadline("designation-document") is None
    dismissed = run(held, "resolve_objection", {"actor": f.actor("city_bureau"), "request_id": f.rid(),
                                                "objection_id": held.objections[0].id, "outcome": "dismissed",
                                                "finding": "不成立"}, now=ends).state
    assert dismissed.deadline("objections-open") is None and dismissed.deadline("designation-document") is not None
    assert dismissed.phase == "public_notice"


def test_pd16_before_the_patch_a_notice_designates_by_itself():
    """PD16: a notice published by a run begun before the patch keeps its automatic designation."""
    state = evaluated()
    state.rule_book_pd11 = False
    ends = datetime(2026, 3, 6, 16, 0, tzinfo=timezone.utc)
    state = run(state, "publish_notice", f.notice(date(2026, 3, 2)), facts=ends).state
    state.rule_book_pd11 = True  # the next run (continue-as-new) has the patch; the notice keeps its rule
    assert due_now(state, ends).state.phase == "designated"


def test_d7_objection_not_before_the_notice_is_published():
    """D7: a notice published ahead takes objections only from its publication day."""
    ends = datetime(2026, 3, 20, 16, 0, tzinfo=timezone.utc)
    state = run(evaluated(), "publish_notice", f.notice(date(2026, 3, 16)), facts=ends).state
    objection = {"actor": f.actor("public", name="李某"), "request_id": f.rid(),
                 "objector": "李某", "contact": "li@example.com", "grounds": "不实"}
    with pytest.raises(Refusal) as info:
        run(state, "file_objection", objection)
    assert (info.value.rule_id, info.value.field) == ("D7", "notice") and "2026-03-16" in info.value.message
    assert run(state, "file_objection", objection, now=datetime(2026, 3, 16, 1, 0, tzinfo=timezone.utc)).state.objections


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


def test_d3_pd8_compliance_look_back_in_the_message_comes_from_the_frozen_policy():
    """PD8: the D3 (5) look-back is policy data; the refusal says the center's own number."""
    from models.policy import GUIDELINE_2025

    payload = f.application()
    payload["checklist"]["compliance"]["no_serious_violation_last_3_years"] = {"met": False, "evidence": "处罚记录"}
    state = new_state(policy=GUIDELINE_2025.model_copy(update={"compliance_lookback_years": 5}))
    with pytest.raises(Refusal) as info:
        run(state, "submit_application", payload, facts=[])
    assert "last 5 years" in info.value.message
