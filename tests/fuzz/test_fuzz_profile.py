"""The gaps a review found in the door checks, each closed, and the start input fuzzed like the actions."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from models.profile import CenterProfile
from rules import engine
from rules.engine import Refusal
from tests.fixtures import factories as f
from tests.fuzz.hostile import Mutation, mutations
from tests.fuzz.scenes import scenes

SCENES = scenes()


def refused_field(name: str, payload: dict) -> str:
    with pytest.raises(Refusal) as info:
        engine.parse(name, payload)
    return info.value.field


def profile_error(data: dict) -> str:
    with pytest.raises(ValidationError) as info:
        CenterProfile.model_validate(data)
    return ".".join(str(p) for p in info.value.errors()[0]["loc"])


def test_d1_credit_code_of_eighteen_zeros_is_refused():
    data = f.profile_data(implementing_entity={"name": "舟山某公司", "credit_code": "0" * 18})
    assert profile_error(data) == "implementing_entity.credit_code"


def test_m6_duplicate_partner_and_partner_that_is_the_entity_are_refused():
    partner = {"name": "浙江海洋大学", "credit_code": f.government_code(7)}
    assert profile_error(f.profile_data(partners=[partner, dict(partner)])) == "partners"
    data = f.profile_data()
    data["partners"] = [dict(data["implementing_entity"])]
    assert profile_error(data) == "partners"


def test_pd9_duplicate_contact_is_refused():
    contact = {"name": "王敏", "email": "wangmin@center.example"}
    assert profile_error(f.profile_data(contacts=[contact, {**contact, "email": "WangMin@center.example"}])) \
        == "contacts"


@pytest.mark.parametrize("score", [True, False, "86", "1e1", float("nan"), float("inf")])
def test_d6_score_must_be_a_number_not_a_boolean_or_text(score):
    assert refused_field("record_city_evaluation", f.city_evaluation(score=score)) == "score"


@pytest.mark.parametrize("amount", ["1e3", "5_000", "١٢٣", "۱۲۳", " 5", "+5", "1,000", "NaN", True, 5.0])
def test_s1_amounts_follow_the_published_pattern(amount):
    payload = {**SCENES["grant_advance"].payload, "amount_yuan": amount}
    assert refused_field("grant_advance", payload) == "amount_yuan"


@pytest.mark.parametrize("day", ["0001-01-01", "1900-01-01", "9999-12-31", "2100-01-01", 0, "2026-03-01T00:00:00"])
def test_d7_dates_are_iso_days_within_2000_to_2099(day):
    assert refused_field("publish_notice", {**SCENES["publish_notice"].payload, "published_on": day}) == "published_on"


@pytest.mark.parametrize("flag", ["yes", "true", 1, 0, None])
def test_d5_findings_are_json_booleans(flag):
    assert refused_field("record_county_review", f.county_review(recommend=flag)) == "recommend"


@settings(max_examples=1_000, deadline=None, derandomize=True)
@given(st.data())
def test_d1_hostile_profiles_are_refused_naming_the_field(data):
    """The start input (CenterProfile) takes the same hostile changes; only a ValidationError comes out."""
    base = f.profile_data(center_id="zs-fuzz-01")
    base["partners"] = [{"name": "浙江海洋大学", "credit_code": f.government_code(7)}]
    mutation: Mutation = data.draw(mutations("start", base, actor=False))
    try:
        CenterProfile.model_validate(mutation.payload)
    except ValidationError as err:
        loc = ".".join(str(p) for p in err.errors()[0]["loc"])
        assert loc == "" or loc.split(".")[0] == mutation.field.split(".")[0], (loc, mutation.field)
    else:
        assert not mutation.must_refuse, f"{mutation.what} at {mutation.field} accepted"
