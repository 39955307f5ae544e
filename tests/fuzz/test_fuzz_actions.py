"""Hostile payloads through the update validator's own path (parse, then check): only Refusals.

At least 1,000 generated payloads per action (INTERFACE.md: bad input gets a clear error naming the
field and the rule, and changes nothing). The states are realistic: each action's payload is first
accepted in its scene (tests/fuzz/scenes.py), so a refusal is caused by the change alone.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rules import engine
from rules.catalog import ACTIONS
from rules.engine import Refusal
from tests.fuzz.hostile import Mutation, mutations
from tests.fuzz.scenes import Scene, scenes

SCENES = scenes()
PER_ACTION = settings(max_examples=1_000, deadline=None, derandomize=True,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


def validate(scene: Scene, name: str, payload: object) -> Refusal | None:
    """What the update validator runs (workflows/lifecycle.py ``_validate``)."""
    try:
        engine.check(scene.state, name, engine.parse(name, payload), scene.now)
    except Refusal as refusal:
        return refusal
    return None


def related(a: str, b: str) -> bool:
    return a == b or a.startswith(b + ".") or b.startswith(a + ".")


def test_every_action_has_a_scene_that_accepts_its_payload():
    assert set(SCENES) == set(ACTIONS)
    for name, scene in SCENES.items():
        assert validate(scene, name, scene.payload) is None, name


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_hostile_payloads_are_refused_naming_the_field(name):
    scene = SCENES[name]
    before = scene.state.model_dump_json()
    seen: dict[str, int] = {}

    @PER_ACTION
    @given(st.data())
    def one(data: st.DataObject) -> None:
        mutation: Mutation = data.draw(mutations(name, scene.payload))
        seen[mutation.what] = seen.get(mutation.what, 0) + 1
        refusal = validate(scene, name, mutation.payload)  # anything but a Refusal fails the test
        if mutation.must_refuse:
            assert refusal is not None, f"{mutation.what} at {mutation.field} accepted: {mutation.payload!r:.300}"
            assert refusal.field and refusal.rule_id and refusal.message
            assert related(refusal.field, mutation.field), (mutation.field, str(refusal))
        elif refusal is not None:
            assert refusal.field and refusal.rule_id and refusal.message

    one()
    assert sum(seen.values()) >= 1_000
    assert {"wrong_type", "drop", "extra", "actor"} <= set(seen), seen
    assert scene.state.model_dump_json() == before  # checking never changes the state


@pytest.mark.parametrize("name", sorted(ACTIONS))
def test_every_action_is_refused_in_every_phase_it_does_not_allow(name):
    spec = ACTIONS[name]
    scene = SCENES[name]
    for other_name, other in SCENES.items():
        if spec.phases is None or other.state.phase in spec.phases:
            continue
        refusal = validate(Scene(other.state, other.now, scene.payload), name, scene.payload)
        assert refusal is not None and refusal.field == "phase", (name, other.state.phase, refusal)
