"""Review 2: `centers import` on the time-skipping server: an import the workflow refuses must not
be reported as imported, nor leave ledger entries behind (INTERFACE: bad input changes nothing)."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg
import pytest_asyncio

from db.ledger import list_entries
from tests.centers.cli_support import cli, write_json
from tests.centers.test_cli_import import import_file
from tests.workflows.flows import state_of, today


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    return fresh_db_pool


async def test_review2_import_over_the_cap_is_refused_and_leaves_no_ledger_entry(centers, env, db_pool, tmp_path,
                                                                                 blank_database_url):
    day = await today(env)
    path, data = import_file(tmp_path, day)
    # a second advance larger than the whole yearly city cap (PD6: 3,000,000): the workflow's reservation refuses it
    data["advances"].append({"year": day.year - 2, "amount_yuan": "3000000.01",
                             "granted_on": date(day.year - 2, 3, 1).isoformat(), "payment_ref": "舟科拨〔2024〕2号"})
    path = write_json(tmp_path, "import.json", data)
    cid = data["profile"]["center_id"]
    result = await cli("import", path, client=centers.client, task_queue=centers.task_queue,
                       database_url=blank_database_url)
    handle = centers.client.get_workflow_handle(f"center-{cid}")
    if result.status == 0:
        centers.handles.append(handle)
    await env.sleep(timedelta(minutes=5))
    async with db_pool.acquire() as conn:
        ledger = await list_entries(conn, cid)
    described = (await handle.describe()).status.name if result.status == 0 else "not started"
    assert result.status == 2, f"reported as imported (exit {result.status}); workflow {described}; ledger {[(e.year, e.kind) for e in ledger]}"
    assert ledger == [], f"a refused import left ledger entries {[(e.year, e.kind) for e in ledger]}"


async def test_review2_reimport_of_a_revoked_center_is_refused(centers, env, db_pool, tmp_path, blank_database_url):
    """PD7: a revoked center is barred for the policy's ban; `centers import` may not bring it back as designated."""
    day = await today(env)
    path, data = import_file(tmp_path, day, advances=[])
    cid = data["profile"]["center_id"]
    first = await cli("import", path, client=centers.client, task_queue=centers.task_queue, database_url=blank_database_url)
    assert first.status == 0, first
    handle = centers.client.get_workflow_handle(f"center-{cid}")
    centers.handles.append(handle)
    await handle.execute_update("revoke", {"actor": {"name": "产业处 李华", "role": "city_bureau"}, "request_id": "rv2-revoke",
                                           "ground": "research_misconduct", "evidence": "科研失信认定书"})
    await handle.result()
    assert (await state_of(handle)).phase == "revoked"
    again = write_json(tmp_path, "again.json", data | {"request_id": "rv2-import-again"})
    result = await cli("import", again, client=centers.client, task_queue=centers.task_queue, database_url=blank_database_url)
    if result.status == 0:
        centers.handles.append(centers.client.get_workflow_handle(f"center-{cid}"))
    assert result.status == 2, f"a revoked center was imported again as designated: {result.out}"
