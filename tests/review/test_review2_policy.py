"""Review 2: models/policy.py load_policy / policy_in_force on hostile data files."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from models.policy import POLICY_DIR, PolicyFileError, load_policy, policy_in_force

BASE = (POLICY_DIR / "zs-kjj-2025-10-21.toml").read_text(encoding="utf-8")


def variant(tmp_path: Path, text: str, version: str = "zs-rv2-2027") -> Path:
    text = text.replace('version = "zs-kjj-2025-10-21"', f'version = "{version}"')
    path = tmp_path / f"{version}.toml"
    path.write_text(text, encoding="utf-8")
    return path


def drop_parameter(text: str, name: str) -> str:
    return re.sub(rf"\[parameters\.{name}\]\n(?:[^\[\n].*\n)*", "", text)


def test_review2_policy_file_missing_a_defaulted_parameter_is_refused(tmp_path: Path) -> None:
    # PD8: "a variant policy file alone sets every number"; the defaults exist only for old frozen histories
    path = variant(tmp_path, drop_parameter(BASE, "settlement_due"))
    assert "settlement_due" not in path.read_text(encoding="utf-8")
    with pytest.raises(PolicyFileError, match="settlement_due"):
        load_policy(path)


def test_review2_policy_parameter_since_in_the_future_is_not_in_force_today(tmp_path: Path) -> None:
    # a parameter whose `since` is 2099 is not in effect in 2026, yet load_policy applies it from effective_from
    text = BASE.replace("[parameters.notice_working_days]\nvalue = 5\nsince = 2025-10-21",
                        "[parameters.notice_working_days]\nvalue = 9\nsince = 2099-01-01")
    assert "since = 2099-01-01" in text
    with pytest.raises(PolicyFileError, match="since"):
        load_policy(variant(tmp_path, text))


def test_review2_policy_since_as_datetime_is_a_clear_error(tmp_path: Path) -> None:
    # a TOML datetime is a datetime, a subclass of date: comparing it with effective_from raises TypeError
    text = BASE.replace("value = 5\nsince = 2025-10-21", "value = 5\nsince = 2025-10-21T00:00:00")
    with pytest.raises(PolicyFileError):
        load_policy(variant(tmp_path, text))


def test_review2_policy_boolean_for_a_count_is_refused(tmp_path: Path) -> None:
    # `value = true` for notice_working_days is a mistyped file, not a 1-day notice
    text = BASE.replace("[parameters.notice_working_days]\nvalue = 5", "[parameters.notice_working_days]\nvalue = true")
    with pytest.raises(PolicyFileError, match="notice_working_days"):
        load_policy(variant(tmp_path, text))


def test_review2_policy_in_force_with_no_policies_is_a_policy_error() -> None:
    with pytest.raises(PolicyFileError):
        policy_in_force(date(2026, 1, 1), ())
