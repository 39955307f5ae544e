"""PD8: the guideline's numbers are dated data with their clauses, checked when a file is loaded."""

from __future__ import annotations

import shutil
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from pydantic import ValidationError

from models.policy import GUIDELINE_2025, POLICY_DIR, Policy, PolicyFileError, load_policies, load_policy, policy_in_force

SHIPPED = POLICY_DIR / "zs-kjj-2025-10-21.toml"


def test_pd8_the_shipped_guideline_holds_the_rule_books_numbers():
    """S1 300万 a year for at most 3 years, S3 2 years, D7 5 working days, M2 1 year, M3 3 months,
    M2/M4 bans of 2 years, M4 (4) two years in a row, PD9 30/7/1 days."""
    p = load_policy(SHIPPED)
    assert (p.yearly_city_cap_yuan, p.max_subsidy_years, p.designation_deadline_years) == (Decimal("3000000.00"), 3, 2)
    assert (p.notice_working_days, p.rectification_years, p.major_change_report_months) == (5, 1, 3)
    assert (p.delisting_ban_years, p.revocation_ban_years, p.revocation_unqualified_streak) == (2, 2, 2)
    assert p.reminder_days_before == (30, 7, 1) and p == GUIDELINE_2025


def test_pd8_every_value_cites_its_clause_and_every_field_is_in_the_file():
    import tomllib

    raw = tomllib.loads(SHIPPED.read_text(encoding="utf-8"))
    assert set(raw["parameters"]) == set(Policy.model_fields) - {"version", "effective_from", "source"}
    for name, entry in raw["parameters"].items():
        assert entry["since"] >= raw["effective_from"], name
        assert entry["rule"] and entry["reference"], name


def variant(tmp_path: Path, name: str = "zs-kjj-2025-10-21", **values: str) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    for parameter, value in values.items():
        head = f"[parameters.{parameter}]\nvalue = "
        start = text.index(head) + len(head)
        text = text[:start] + value + text[text.index("\n", start):]
    path = tmp_path / f"{name}.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize("parameter, value", [
    ("reminder_days_before", "[30, -7, 1]"), ("yearly_city_cap_yuan", '"0.001"'), ("yearly_city_cap_yuan", '"1e30"'),
    ("notice_working_days", "0"), ("rectification_years", "100"), ("annual_report_due", "{ month = 2, day = 29 }"),
])
def test_pd8_a_value_out_of_bounds_is_refused_when_the_file_is_loaded(tmp_path, parameter, value):
    with pytest.raises(PolicyFileError, match=parameter):
        load_policy(variant(tmp_path, **{parameter: value}))


def test_pd8_a_parameter_without_its_clause_or_unknown_is_refused(tmp_path):
    text = SHIPPED.read_text(encoding="utf-8")
    no_clause = tmp_path / "a" / "zs-kjj-2025-10-21.toml"
    no_clause.parent.mkdir()
    no_clause.write_text(text.replace('reference = "实施方案 三(三)8：单个中心补助不超过三年"\n', ""), encoding="utf-8")
    with pytest.raises(PolicyFileError, match="max_subsidy_years"):
        load_policy(no_clause)
    unknown = tmp_path / "b" / "zs-kjj-2025-10-21.toml"
    unknown.parent.mkdir()
    unknown.write_text(text + '\n[parameters.bonus_yuan]\nvalue = 1\nsince = 2025-10-21\nrule = "S1"\nreference = "none at all"\n',
                       encoding="utf-8")
    with pytest.raises(PolicyFileError, match="bonus_yuan"):
        load_policy(unknown)
    with pytest.raises(ValidationError):
        Policy.model_validate(GUIDELINE_2025.model_dump() | {"bonus_yuan": 1})


def test_pd8_a_new_center_takes_the_guideline_in_effect_on_its_start(tmp_path):
    shutil.copy(SHIPPED, tmp_path / SHIPPED.name)
    revised = (SHIPPED.read_text(encoding="utf-8").replace('version = "zs-kjj-2025-10-21"', 'version = "zs-kjj-2027-07-01"')
               .replace("effective_from = 2025-10-21", "effective_from = 2027-07-01").replace("since = 2025-10-21", "since = 2027-07-01")
               .replace('value = "3000000.00"', 'value = "4000000.00"'))
    (tmp_path / "zs-kjj-2027-07-01.toml").write_text(revised, encoding="utf-8")
    policies = load_policies(tmp_path)
    assert policy_in_force(date(2027, 6, 30), policies).yearly_city_cap_yuan == Decimal("3000000.00")
    assert policy_in_force(date(2027, 7, 1), policies).yearly_city_cap_yuan == Decimal("4000000.00")
    with pytest.raises(PolicyFileError, match="no guideline"):
        policy_in_force(date(2025, 1, 1), policies)
