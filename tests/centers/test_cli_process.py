"""The real `centers` console entry, as staff run it, against the dev server `make run` uses.

Many runs as subprocesses prove every exit status is exactly the one the command chose (0, 1, or 2
for bad input), never 134/139 from interpreter teardown (temporalio/sdk-python#300; the CLI ends
through workers.exit.hard_exit). `centers list` is tested here too: visibility queries need the
dev server (the time-skipping server has none).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest_asyncio
from temporalio.service import RPCError, RPCStatusCode

from models.state import CenterState
from rules.calendar import local_date
from tests.centers.cli_support import REPO, cli, example, profile_file, write_json
from tests.fixtures import factories as f
from tests.fixtures.temporal import lifecycle_worker
from workflows.lifecycle import CenterLifecycle

CONSOLE_SCRIPT = Path(sys.executable).parent / "centers"


@pytest_asyncio.fixture(loop_scope="session")
async def dev_queue(dev_client, db_pool, worker_settings) -> AsyncIterator[str]:
    """A worker on the dev server, on a task queue of this test's own."""
    task_queue = f"cli-{uuid.uuid4().hex[:8]}"
    async with lifecycle_worker(dev_client, task_queue, db_pool, worker_settings):
        yield task_queue


def command(i: int) -> list[str]:
    """Alternate the installed console script and `python -m centers.main`."""
    if i % 2 == 0 and CONSOLE_SCRIPT.exists():
        return [str(CONSOLE_SCRIPT)]
    return [sys.executable, "-m", "centers.main"]


async def run_all(jobs: list[tuple[list[str], int]], environ: dict[str, str], cwd: Path, parallel: int = 4):
    """Run every (argv, expected status) as a subprocess; return (argv, expected, status, stdout, stderr)."""
    gate = asyncio.Semaphore(parallel)

    async def one(i: int, argv: list[str], expected: int):
        async with gate:
            process = await asyncio.create_subprocess_exec(
                *command(i), *argv, cwd=cwd, env=environ,
                stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
            out, err = await asyncio.wait_for(process.communicate(), 120)
            return argv, expected, process.returncode, out.decode(), err.decode()

    return await asyncio.gather(*(one(i, argv, expected) for i, (argv, expected) in enumerate(jobs)))


def assert_statuses(results) -> None:
    wrong = [(argv[:2], expected, status, err[-300:]) for argv, expected, status, _, err in results
             if status != expected]
    assert not wrong, f"{len(wrong)}/{len(results)} runs ended with another status: {wrong}"


async def test_console_script_exit_statuses_are_exact_over_many_runs(
    dev_server, dev_client, dev_queue, database_url, db_pool, tmp_path
):
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("TEMPORAL_", "CENTERS_DEBUG"))}
    environ.update(TEMPORAL_ADDRESS=dev_server.address, TEMPORAL_NAMESPACE=dev_server.namespace,
                   TASK_QUEUE=dev_queue, DATABASE_URL=database_url, PYTHONPATH=str(REPO))
    good = [profile_file(tmp_path) for _ in range(10)]
    bad = {
        "implementing_entity.credit_code": profile_file(
            tmp_path, implementing_entity={"name": "舟山某公司", "credit_code": "91330902MA2A1B3C4X"}),
        "county": profile_file(tmp_path, county="hangzhou"),
        "contacts.0.email": profile_file(tmp_path, contacts=[{"name": "王敏"}]),
    }

    starts = await run_all([(["start", path], 0) for path, _ in good]
                           + [(["start", path], 2) for path, _ in bad.values()], environ, tmp_path)
    assert_statuses(starts)
    for (argv, _, _, out, _), (_, data) in zip(starts, good):
        assert f"started center-{data['center_id']}" in out
        assert f"/namespaces/default/workflows/center-{data['center_id']}" in out
    for (argv, _, _, out, err), (field, (_, data)) in zip(starts[len(good):], bad.items()):
        assert f"invalid profile: {field}:" in err and out == ""
        cid = data["center_id"]
        try:
            await dev_client.get_workflow_handle(f"center-{cid}").describe()
            raise AssertionError(f"a workflow was started for bad profile {cid}")
        except RPCError as err:
            assert err.status == RPCStatusCode.NOT_FOUND
        async with db_pool.acquire() as conn:
            assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE center_id = $1", cid) == 0

    first = good[0][1]["center_id"]
    application = example("submit_application")
    application.pop("partner_agreements")
    wrong_county = {k: v for k, v in example("record_county_review").items() if k != "actor"}
    later = await run_all(
        [(["show", data["center_id"]], 0) for _, data in good]
        + [(["show", data["center_id"], "--json"], 0) for _, data in good[:3]]
        + [(["start", good[0][0]], 1),
           (["show", f"never-{uuid.uuid4().hex[:6]}"], 1),
           (["submit_application", first, "--file", write_json(tmp_path, "app.json", application)], 0),
           (["list", "--county", "dinghai", "--json"], 0),
           (["report", "coverage", "--out", str(tmp_path / "coverage.xlsx")], 0),
           (["withdraw", first, "--json", '{"reason": 1}'], 2)],
        environ, tmp_path)
    assert_statuses(later)
    for argv, _, _, out, _ in later[:len(good)]:
        assert "phase" in out and argv[1] in out
    assert "already has a running lifecycle" in later[len(good) + 3][4]

    refused = await run_all([(["record_county_review", good[1][1]["center_id"], "--json", json.dumps(wrong_county),
                               "--actor-name", "李", "--actor-role", "county_department", "--actor-county", "putuo",
                               "--request-id", "proc-refused"], 1)], environ, tmp_path)
    assert_statuses(refused)
    assert "refused [D5] actor.county: only the county department of dinghai" in refused[0][3]
    row = None
    for _ in range(200):  # the workflow writes the row after the CLI has exited (refusal_noted)
        async with db_pool.acquire() as conn:
            row = await conn.fetchrow("SELECT center_id, action, outcome, rule_ids FROM audit_log "
                                      "WHERE request_id = 'proc-refused'")
        if row is not None:
            break
        await asyncio.sleep(0.1)
    assert row is not None and dict(row) == {"center_id": good[1][1]["center_id"], "action": "record_county_review",
                                             "outcome": "rejected", "rule_ids": ["D5"]}, row
    print(f"{len(starts) + len(later) + len(refused)} console runs, every status as expected")

    for _, data in good:
        await dev_client.get_workflow_handle(f"center-{data['center_id']}").terminate("test finished")


async def test_list_filters_by_phase_county_field_and_due_before(dev_client, dev_queue, database_url, tmp_path):
    """Visibility query on CenterPhase, CenterCounty, CenterField and NextDeadline (INTERFACE.md)."""
    run = dict(client=dev_client, task_queue=dev_queue, database_url=database_url)
    specs = {"a": dict(county="putuo", field="marine_biomedicine"),
             "b": dict(county="putuo", field="ships_offshore"),
             "c": dict(county="daishan", field="marine_biomedicine")}
    ids = {}
    for name, changes in specs.items():
        path, data = profile_file(tmp_path, **changes)
        assert (await cli("start", path, **run)).status == 0
        ids[name] = data["center_id"]

    noticed = dev_client.get_workflow_handle(f"center-{ids['a']}")
    await noticed.execute_update("submit_application", f.application())
    await noticed.execute_update("record_county_review", f.county_review(county="putuo"))
    await noticed.execute_update("record_city_evaluation", f.city_evaluation())
    today = local_date((await noticed.query("state", result_type=CenterState)).opened_at)
    await noticed.execute_update("publish_notice", f.notice(today))
    due = (await noticed.query("state", result_type=CenterState)).deadline("notice-end").due_at
    due_day = local_date(due - timedelta(seconds=1))  # PD1: the notice ends at 24:00 of this day

    async def listed(*argv: str) -> set[str]:
        result = await cli("list", "--json", *argv, **run)
        assert result.status == 0, result
        return {row["center_id"] for row in result.json()["centers"]} & set(ids.values())

    async def eventually(argv: tuple[str, ...], expected: set[str]) -> None:
        for _ in range(100):
            got = await listed(*argv)
            if got == expected:
                return
            await asyncio.sleep(0.1)
        raise AssertionError(f"list {argv}: {got} != {expected}")

    await eventually(("--phase", "public_notice"), {ids["a"]})
    await eventually(("--phase", "preparing", "--county", "putuo"), {ids["b"]})
    await eventually(("--field", "marine_biomedicine"), {ids["a"], ids["c"]})
    await eventually(("--county", "putuo", "--field", "ships_offshore", "--running"), {ids["b"]})
    await eventually(("--due-before", (due_day + timedelta(days=1)).isoformat()), {ids["a"]})
    await eventually(("--due-before", due_day.isoformat()), set())

    table = await cli("list", "--county", "daishan", **run)
    assert table.status == 0 and ids["c"] in table.out and "visibility query: WorkflowType = 'CenterLifecycle'" in table.out
    assert "CenterCounty = 'daishan'" in table.out
    for cid in ids.values():
        await dev_client.get_workflow_handle(f"center-{cid}").terminate("test finished")


async def test_list_on_the_time_skipping_server_says_it_cannot(env):
    result = await cli("list", client=env.client)
    assert result.status == 1 and "no visibility queries" in result.err
