"""docs/actions.md is generated and current; every action has a valid example (INTERFACE.md: "document
every payload (JSON Schema made from the pydantic models, with an example per action)")."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from centers import docgen
from models.profile import CenterProfile
from rules.catalog import ACTIONS
from tests.centers.cli_support import REPO


def test_docs_actions_md_is_current():
    """Fails when an action, a payload model or an example changed without regenerating the docs."""
    assert docgen.DOC.exists(), "docs/actions.md is missing: run .venv/bin/python docs/gen_actions.py"
    assert docgen.DOC.read_text(encoding="utf-8") == docgen.render(), (
        "docs/actions.md is stale: run .venv/bin/python docs/gen_actions.py")


def test_docs_cover_every_action_with_rules_roles_and_schema():
    text = docgen.render()
    for spec in ACTIONS.values():
        assert f"## `{spec.name}`" in text
        assert json.dumps(spec.payload.model_json_schema()["title"]) in text
        for rule in spec.rule_ids:
            assert rule in text


@pytest.mark.parametrize("name", list(ACTIONS))
def test_every_action_has_an_example_that_validates(name):
    path = docgen.example_path(name)
    assert path.exists(), f"add examples/actions/{name}.json (an example payload for docs/actions.md)"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert "request_id" not in data, "the CLI fills request_id; keep examples reusable"
    ACTIONS[name].payload.model_validate({**data, "request_id": "example"})


def test_no_example_without_an_action():
    names = {p.stem for p in (REPO / "examples" / "actions").glob("*.json")}
    assert names <= set(ACTIONS), f"examples for unknown actions: {sorted(names - set(ACTIONS))}"


def test_example_center_profile_is_valid():
    CenterProfile.model_validate_json((REPO / "examples" / "center.json").read_text(encoding="utf-8"))


def test_gen_actions_script_check_mode():
    result = subprocess.run([sys.executable, str(REPO / "docs" / "gen_actions.py"), "--check"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


async def test_centers_docs_check_subcommand():
    from tests.centers.cli_support import cli

    result = await cli("docs", "--check")
    assert result.status == 0 and "is current" in result.out
