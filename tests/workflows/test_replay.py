"""Determinism guard: saved histories of representative lifecycles replay against the current code.

Histories under tests/histories/<date recorded>/ were recorded by earlier code, and every
generation is kept. A change that would break running centers (a reordered activity, a removed
timer) fails here; roll such a change out with ``workflow.patched`` or a new policy version
(docs/rollout.md). Record a new generation with ``RECORD_HISTORIES=1 make test PYTEST_ARGS='-k record'``:
a scenario's first run is saved as ``<scenario>.json``, each later run of its continue-as-new chain
as ``<scenario>.runNN.json``.
"""

from __future__ import annotations

import base64
import json
import os
from datetime import date, timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer
from temporalio.workflow import NondeterminismError

from tests.fixtures import factories as f
from tests.fixtures.temporal import chain_histories, replayer
from workers.sandbox import workflow_runner
from workflows.monitoring import MonitoringDigest
from tests.workflows.scenarios import signed_in_designation, ten_year_lifecycle, unqualified_then_rectified
from tests.workflows.flows import (
    advance_settled_into_clawback_and_repaid, designate, objection_held_then_dismissed, refused_signals,
    rejected_then_reapplied, validator_refusal_audited, withdrawn_money_settled_after_the_lapse,
)

SCENARIOS = {
    "designation-full-run": designate,
    "objection-held-then-dismissed": objection_held_then_dismissed,
    "refused-signals": refused_signals,
    "advance-clawback-repaid": advance_settled_into_clawback_and_repaid,
    "ten-year-lifecycle": ten_year_lifecycle,
    "unqualified-then-rectified": unqualified_then_rectified,
    "signed-in-designation": signed_in_designation,
    "withdrawn-money-settled": withdrawn_money_settled_after_the_lapse,
    "rejected-then-reapplied": rejected_then_reapplied,
    "validator-refusal-audited": validator_refusal_audited,
}
from models.state import LifecycleInput
from workflows.lifecycle import (
    DUE_BEFORE_ACTIONS, HIDE_INTERNAL_DEADLINES, PERIOD_ENDS, RULE_BOOK_PD11_PD17,
    AUDIT_USER_ID, LOCAL_FIRST, LOCAL_FIRST_OFF, REFUSAL_NOTES, CenterLifecycle,
)

HISTORIES = Path(__file__).resolve().parents[1] / "histories"


def generation_name() -> str:
    """The folder a recording writes: HISTORY_GENERATION if set (a second one the same day), else today."""
    return os.environ.get("HISTORY_GENERATION") or date.today().isoformat()


def saved() -> list[Path]:
    return sorted(HISTORIES.rglob("*.json"))


def workers_replayer() -> Replayer:
    """The workers' sandbox (workflow modules passed through, workers/sandbox.py), as production runs them."""
    return Replayer(workflows=[CenterLifecycle, MonitoringDigest], data_converter=pydantic_data_converter,
                    workflow_runner=workflow_runner())


@pytest.mark.parametrize("make_replayer", [replayer, workers_replayer], ids=["full-sandbox", "workers-sandbox"])
@pytest.mark.parametrize("path", saved(), ids=lambda p: str(p.relative_to(HISTORIES).with_suffix("")))
async def test_saved_history_replays_against_current_code(path: Path, make_replayer):
    history = WorkflowHistory.from_json(path.stem, json.loads(path.read_text()))
    result = await make_replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{path.name} no longer replays: {result.replay_failure}"


def test_there_are_saved_histories():
    assert len(saved()) >= 2


def test_saved_histories_hold_later_runs_of_a_continue_as_new_chain():
    """A run started by continue-as-new begins from carried state, a path the first run never takes."""
    later = [p for p in saved() if ".run" in p.name]
    assert later, "record the runs after the first (RECORD_HISTORIES=1)"
    for path in later:
        first = json.loads(path.read_text())["events"][0]
        assert first["workflowExecutionStartedEventAttributes"].get("continuedExecutionRunId"), path.name


def patch_ids(path: Path) -> set[str]:
    """The `workflow.patched` ids recorded in a saved history."""
    ids = set()
    for event in json.loads(path.read_text())["events"]:
        marker = event.get("markerRecordedEventAttributes")
        if marker and marker.get("markerName") == "core_patch":
            payload = marker["details"]["patch-data"]["payloads"][0]["data"]
            ids.add(json.loads(base64.b64decode(payload))["id"])
    return ids


@pytest.mark.parametrize("patch", [HIDE_INTERNAL_DEADLINES, DUE_BEFORE_ACTIONS, PERIOD_ENDS, RULE_BOOK_PD11_PD17, AUDIT_USER_ID,
                                   LOCAL_FIRST, LOCAL_FIRST_OFF, REFUSAL_NOTES])
def test_saved_histories_cover_both_sides_of_each_patch(patch: str):
    """A patch keeps runs recorded before it on the old path: both kinds of history must replay."""
    lifecycles = [p for p in saved() if not p.name.startswith("monitoring")]
    with_patch = [p for p in lifecycles if patch in patch_ids(p)]
    assert with_patch, f"record a generation after adding the patch {patch!r} (tests/histories/README.md)"
    assert len(with_patch) < len(lifecycles), f"keep histories recorded before the patch {patch!r}"


@workflow.defn(name="CenterLifecycle", sandboxed=False)
class SkipsTheOpening:
    """A 'changed' lifecycle that no longer records the opening step: must not replay."""

    @workflow.run
    async def run(self, input: LifecycleInput) -> None:
        await workflow.sleep(timedelta(days=1))


async def test_replay_catches_an_incompatible_change(centers, env):
    handle = await centers.start(f.profile())
    await handle.execute_update("submit_application", f.application())
    history = await handle.fetch_history()
    with pytest.raises(NondeterminismError):
        await Replayer(workflows=[SkipsTheOpening], data_converter=pydantic_data_converter).replay_workflow(history)


@pytest.mark.skipif(not os.environ.get("RECORD_HISTORIES"), reason="records histories only when RECORD_HISTORIES=1")
@pytest.mark.parametrize("name", sorted(SCENARIOS))
async def test_record_histories(name, centers, env):
    """Not a check: writes tests/histories/<today>/<scenario>[.runNN].json, each on a fresh server."""
    generation = HISTORIES / generation_name()
    generation.mkdir(parents=True, exist_ok=True)
    handle = await centers.start(f.profile(f"hist-{name}"))
    await SCENARIOS[name](handle, env)
    assert handle.first_execution_run_id
    runs = await chain_histories(centers.client, handle.id, handle.first_execution_run_id)
    for number, history in enumerate(runs, start=1):
        suffix = "" if number == 1 else f".run{number:02d}"
        (generation / f"{name}{suffix}.json").write_text(history.to_json())


@pytest.mark.skipif(not os.environ.get("RECORD_HISTORIES"), reason="records histories only when RECORD_HISTORIES=1")
async def test_record_monitoring_digest_history(env, db_pool, worker_settings):
    """Not a check: writes tests/histories/<today>/monitoring-digest.json (M5, one monthly run)."""
    from tests.workflows.test_monitoring import run_digest

    generation = HISTORIES / generation_name()
    generation.mkdir(parents=True, exist_ok=True)
    handle = await run_digest(env, db_pool, worker_settings, "hist")
    (generation / "monitoring-digest.json").write_text((await handle.fetch_history()).to_json())
