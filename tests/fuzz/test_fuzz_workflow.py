"""A sample of the hostile payloads through a running lifecycle, as updates and as signals.

No workflow task fails, every update is refused naming the field, and the state does not change
(a refused signal only adds its entry to ``rejected``: INTERFACE.md).
"""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from rules.catalog import ACTIONS
from tests.fixtures import factories as f
from tests.fuzz.hostile import Mutation, mutations
from tests.fuzz.scenes import scenes
from tests.workflows.flows import state_of

PER_ACTION = 100
# Each refused signal is audited by an activity (about 0.2 s on the time-skipping server), so the
# signals take a seeded fifth of the sample; the updates (refused by the validator) take all of it.
SIGNALS_PER_ACTION = 20
pytestmark = pytest.mark.slow


def sample(name: str, payload: dict) -> list[Mutation]:
    """PER_ACTION schema-invalid changes of the action's payload (seeded: the same every run)."""
    found: list[Mutation] = []

    @settings(max_examples=PER_ACTION * 4, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(mutations(name, payload))
    def collect(mutation: Mutation) -> None:
        if mutation.must_refuse and len(found) < PER_ACTION:
            found.append(mutation)

    collect()
    assert len(found) == PER_ACTION, name
    return found


def unchanged(state) -> str:
    return state.model_dump_json(exclude={"rejected", "revision"})


async def refused_update(handle, name: str, mutation: Mutation) -> None:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(name, mutation.payload)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ActionRefused", cause
    field = cause.details[0]["field"]
    assert field == mutation.field or field.startswith(mutation.field + ".") or mutation.field.startswith(field + "."), \
        (field, mutation.field)


async def test_hostile_sample_as_updates_and_signals_changes_nothing(centers):
    handle = await centers.start(f.profile())
    first = await state_of(handle)
    before = unchanged(first)
    payloads = scenes()
    signals = 0
    for name in sorted(ACTIONS):
        sampled = sample(name, payloads[name].payload)
        await asyncio.gather(*(refused_update(handle, name, m) for m in sampled))
        safe = sampled[:SIGNALS_PER_ACTION]
        await asyncio.gather(*(handle.signal(name, m.payload) for m in safe))
        signals += len(safe)
    for _ in range(1500):
        state = await state_of(handle)
        if state.revision >= first.revision + signals:  # one refusal recorded per signal
            break
        await asyncio.sleep(0.1)
    assert state.revision == first.revision + signals
    assert unchanged(state) == before
    assert all(r.field for r in state.rejected) and len(state.rejected) == 50
    history = await handle.fetch_history()
    assert [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED] == []
    await handle.execute_update("submit_application", f.application())  # still alive and working
    assert (await state_of(handle)).phase == "county_review"


@pytest.mark.timeout(60)
async def test_signal_with_non_text_actor_role_is_refused_not_wedged(centers):
    """Found by the fuzzing above: a refused signal's audit row once copied a non-text actor role raw,
    and every workflow task then failed (fixed on main with the bounded text types)."""
    handle = await centers.start(f.profile())
    payload = {**scenes()["withdraw"].payload, "actor": {"name": "x", "role": False}}
    await handle.signal("withdraw", payload)
    for _ in range(50):
        if (await state_of(handle)).rejected:
            break
        await asyncio.sleep(0.1)
    history = await handle.fetch_history()
    assert [e for e in history.events if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED] == []
    assert (await state_of(handle)).rejected[-1].field == "actor.role"
