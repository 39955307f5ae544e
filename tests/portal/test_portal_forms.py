"""Action forms come from the action's pydantic model (rules/catalog.py) and parse back to it.

For every registered action, its documented example (examples/actions/NAME.json) typed into the
generated form, as a person would, parses back into the same payload; the envelope (actor,
request_id) is never a form field.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from portal import forms
from rules.catalog import ACTIONS
from tests.portal.browser import dotted

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "actions"


def names(items) -> list[str]:
    out = []
    for item in items:
        out += names(item.items) if isinstance(item, forms.Group) else [item.name]
    return out


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_portal_form_of_every_action_round_trips_its_example(name: str):
    spec = ACTIONS[name]
    example = json.loads((EXAMPLES / f"{name}.json").read_text(encoding="utf-8"))
    fields = names(forms.build(spec.payload))
    assert not any(f == "actor" or f.startswith("actor.") or f == "request_id" for f in fields)
    typed = dotted(example)
    assert set(typed) <= set(fields), set(typed) - set(fields)
    data = forms.parse(spec.payload, typed)
    envelope = {"actor": example.get("actor") or {"name": "x", "role": sorted(spec.roles)[0].value,
                                                   "county": "dinghai"}, "request_id": "portal-1"}
    assert spec.payload.model_validate({**data, **envelope}) == spec.payload.model_validate({**example, **envelope})


def test_portal_form_kinds_follow_the_model():
    items = {i.name: i for i in _flat(forms.build(ACTIONS["submit_application"].payload))}
    assert items["checklist.lead_unit_kind"].kind == "select"
    assert items["checklist.compliance.secrecy_integrity_and_ethics.met"].kind == "select"
    assert items["commitment_letter.signed_on"].kind == "date"
    assert items["materials"].kind == "lines"
    grant = {i.name: i for i in _flat(forms.build(ACTIONS["grant_advance"].payload))}
    assert grant["amount_yuan"].kind == "money" and grant["year"].kind == "number"
    # An empty optional group becomes null, so the rule that needs it (D4) names it.
    assert forms.parse(ACTIONS["submit_application"].payload, {})["commitment_letter"] is None


def _flat(items):
    for item in items:
        if isinstance(item, forms.Group):
            yield from _flat(item.items)
        else:
            yield item
