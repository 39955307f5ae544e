"""`centers import`: an existing center brought in, in each phase that can be imported (INTERFACE.md),
on the time-skipping server with the real ledger and outbox."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.service import RPCError

from db.ledger import list_entries
from db.outcomes import list_audit, list_outbox
from models.state import CenterState
from rules.calendar import local_date
from tests.centers.cli_support import cli, write_json
from tests.fixtures import factories as f
from tests.workflows.flows import today, until


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    return fresh_db_pool  # imported advances count against the yearly cap (PD6)


def import_file(tmp_path, day: date, **changes: Any) -> tuple[str, dict[str, Any]]:
    data: dict[str, Any] = {
        "actor": {"name": "产业处 李华", "role": "city_bureau"}, "source_ref": "市科技局产业创新中心名单（2024年第1批）",
        "profile": f.profile_data(), "phase": "designated",
        "designated_on": date(day.year - 3, 5, 20).isoformat(), "designation_ref": "舟科发〔2023〕21号",
        "grades": {str(day.year - 3): "合格", str(day.year - 2): "良好", str(day.year - 1): "优秀"},
        "reports": {str(day.year - 1): f"NB-{day.year - 1}"},
        "advances": [{"year": day.year - 3, "amount_yuan": "800000.00", "granted_on": date(day.year - 3, 6, 15).isoformat(),
                      "payment_ref": "舟科拨〔2023〕7号", "amount_due_yuan": "600000.00", "assessment_ref": "JX-1"}],
    } | changes
    return write_json(tmp_path, "import.json", data), data


async def imported(centers, database_url: str, path: str, center_id: str):
    result = await cli("import", path, client=centers.client, task_queue=centers.task_queue, database_url=database_url)
    assert result.status == 0, result
    handle = centers.client.get_workflow_handle(f"center-{center_id}")
    centers.handles.append(handle)
    return handle


async def test_d7_import_a_designated_center_with_its_past_and_no_past_reminders(centers, env, db_pool, tmp_path,
                                                                                 blank_database_url):
    day = await today(env)
    path, data = import_file(tmp_path, day)
    data["advances"].append({"year": day.year - 2, "amount_yuan": "500000.00", "granted_on": date(day.year - 2, 3, 1).isoformat(),
                             "payment_ref": "舟科拨〔2024〕2号"})
    path = write_json(tmp_path, "import.json", data)
    cid = data["profile"]["center_id"]
    handle = await imported(centers, blank_database_url, path, cid)
    state = await until(handle, lambda s: s.revision >= 1, "imported")
    assert state.phase == "designated" and state.designation.document_ref == "舟科发〔2023〕21号"
    assert state.operating.grades == {day.year - 3: "合格", day.year - 2: "良好", day.year - 1: "优秀"}
    assert state.subsidy.years_granted == [day.year - 3, day.year - 2] and state.subsidy.clawback(day.year - 3) is not None
    assert state.deadline(f"settlement-{day.year - 3}") is None, "a settled year needs no settlement (PD13)"
    assert [local_date(y.granted_at) for y in state.subsidy.years] == [date(day.year - 3, 6, 15), date(day.year - 2, 3, 1)]
    settlement = state.deadline(f"settlement-{day.year - 2}")
    assert settlement.who_acts == "city_bureau", "an unsettled year needs one (PD13)"
    assert settlement.overdue, "past due on import day: open and overdue from the start, without a notice"
    await env.sleep(timedelta(days=2))
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, cid)
        outbox = await list_outbox(conn, cid)
        ledger = await list_entries(conn, cid)
    (imp,) = [a for a in audit if a.action == "import_center"]
    assert imp.actor_role == "city_bureau" and imp.detail["source_ref"] == data["source_ref"]
    assert not any(a.action == "opened" for a in audit)
    assert sorted(e.kind for e in ledger) == ["advance", "advance", "clawback", "settlement"]
    assert not any("remind" in o.key or "overdue" in o.key for o in outbox), [o.key for o in outbox]
    assert any(o.key.endswith(":imported") for o in outbox)


async def test_m2_import_a_rectifying_center_keeps_its_running_period(centers, env, db_pool, tmp_path, blank_database_url):
    day = await today(env)
    started = day - timedelta(days=40)
    path, data = import_file(tmp_path, day, phase="rectifying", rectification_started_on=started.isoformat(),
                             grades={str(day.year - 2): "合格", str(day.year - 1): "不合格"}, advances=[])
    handle = await imported(centers, blank_database_url, path, data["profile"]["center_id"])
    state: CenterState = await until(handle, lambda s: s.revision >= 1, "imported")
    assert state.phase == "rectifying"
    (rectification,) = [d for d in state.agenda if d.kind == "rectification"]
    assert rectification.due_at.year == started.year + 1 and rectification.reminders_sent == []
    assert state.operating.rectifications[0].started_on == started


async def test_d7_an_import_that_contradicts_the_rule_book_is_refused_at_the_door(centers, env, tmp_path,
                                                                                blank_database_url):
    day = await today(env)
    path, data = import_file(tmp_path, day, grades={str(day.year - 2): "不合格", str(day.year - 1): "不合格"})
    result = await cli("import", path, client=centers.client, task_queue=centers.task_queue,
                       database_url=blank_database_url)
    assert result.status == 2 and "[M4]" in result.err and f"grades.{day.year - 1}" in result.err
    future = import_file(tmp_path, day, designated_on=(day + timedelta(days=3)).isoformat())[0]
    result = await cli("import", future, client=centers.client, task_queue=centers.task_queue,
                       database_url=blank_database_url)
    assert result.status == 2 and "designated_on" in result.err
    with pytest.raises(RPCError):  # a refused import starts nothing
        await centers.client.get_workflow_handle(f"center-{data['profile']['center_id']}").describe()
