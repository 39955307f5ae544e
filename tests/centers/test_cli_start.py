"""`centers start` and `centers show` in-process on the time-skipping server, real worker and PostgreSQL.

INTERFACE.md "Command line" and "Temporal": one running lifecycle per center (a second start is
refused with a clear error), the profile validated at the door (D1, D2, D5 county, M6).
"""

from __future__ import annotations

import json

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from models import search_attributes as sa
from models.state import CenterState
from tests.centers.cli_support import REPO, cli, profile_file, write_json
from tests.fixtures import factories as f


def track(centers, center_id: str) -> None:
    """Hand the lifecycle to the fixture, which replays its history when the test ends."""
    centers.handles.append(centers.client.get_workflow_handle(f"center-{center_id}"))


async def test_d1_start_runs_the_lifecycle_with_the_frozen_policy_and_prints_the_ui_link(centers, database_url, tmp_path):
    path, data = profile_file(tmp_path)
    cid = data["center_id"]
    result = await cli("start", path, client=centers.client, task_queue=centers.task_queue, database_url=database_url)
    track(centers, cid)
    assert result.status == 0, result
    assert f"started center-{cid}" in result.out
    assert f"http://localhost:8233/namespaces/default/workflows/center-{cid}" in result.out

    handle = centers.client.get_workflow_handle(f"center-{cid}")
    description = await handle.describe()
    assert description.status == WorkflowExecutionStatus.RUNNING
    assert description.workflow_type == "CenterLifecycle"
    assert description.task_queue == centers.task_queue
    assert await description.static_summary() == f"{data['proposed_name']} · dinghai · new_materials"
    assert description.typed_search_attributes.get(sa.CENTER_COUNTY) == "dinghai"
    assert description.typed_search_attributes.get(sa.ENTITY_CREDIT_CODE) == data["implementing_entity"]["credit_code"]
    state = await handle.query("state", result_type=CenterState)
    assert state.policy.version == "zs-kjj-2025-10-21"  # PD8: GUIDELINE_2025 frozen into the input
    assert str(state.offices.county_department_email) == "kj-dinghai@zhoushan.example"

    shown = await cli("show", cid, client=centers.client, task_queue=centers.task_queue)
    assert shown.status == 0, shown
    assert "phase" in shown.out and "preparing" in shown.out and data["proposed_name"] in shown.out
    raw = await cli("show", cid, "--json", client=centers.client)
    assert raw.status == 0 and raw.json()["phase"] == "preparing"
    assert raw.json()["profile"]["center_id"] == cid


async def test_second_start_while_running_is_refused_with_a_clear_error(centers, tmp_path):
    path, data = profile_file(tmp_path)
    cid = data["center_id"]
    first = await cli("start", path, client=centers.client, task_queue=centers.task_queue)
    track(centers, cid)
    assert first.status == 0, first
    again = await cli("start", path, client=centers.client, task_queue=centers.task_queue)
    assert again.status == 1, again
    assert f"center {cid} already has a running lifecycle" in again.err
    assert again.out == ""


async def test_new_lifecycle_may_start_after_the_previous_one_ended(centers, tmp_path):
    """id_reuse_policy ALLOW_DUPLICATE: a withdrawn center (ended) may start again under the same id."""
    path, data = profile_file(tmp_path)
    cid = data["center_id"]
    assert (await cli("start", path, client=centers.client, task_queue=centers.task_queue)).status == 0
    track(centers, cid)
    withdrawn = await cli("withdraw", cid, "--json", json.dumps({"reason": "重组"}), "--actor-name", "王敏",
                          "--actor-role", "implementing_entity", client=centers.client)
    assert withdrawn.status == 0, withdrawn
    handle = centers.client.get_workflow_handle(f"center-{cid}")
    await handle.result()  # withdrawn with nothing left on the agenda: the lifecycle completes
    late = await cli("withdraw", cid, "--json", json.dumps({"reason": "再次"}), "--actor-name", "王敏",
                     "--actor-role", "implementing_entity", client=centers.client)
    assert late.status == 1 and "its lifecycle has ended (workflow completed)" in late.err
    again = await cli("start", path, client=centers.client, task_queue=centers.task_queue)
    assert again.status == 0, again
    track(centers, cid)
    assert (await centers.client.get_workflow_handle(f"center-{cid}").describe()).status == WorkflowExecutionStatus.RUNNING


BAD_PROFILES = {
    "credit_code": ({"implementing_entity": {"name": "舟山某公司", "credit_code": "91330902MA2A1B3C4X"}},
                    "implementing_entity.credit_code"),
    "county": ({"county": "hangzhou"}, "county"),
    "contact_email": ({"contacts": [{"name": "王敏", "phone": "0580-0000000"}]}, "contacts.0.email"),
}


@pytest.mark.parametrize("case", list(BAD_PROFILES))
async def test_d2_bad_profile_is_refused_at_the_door_exit_2_nothing_started_nothing_written(
    case, centers, database_url, db_pool, tmp_path
):
    """Malformed credit code (GB 32100-2015), unknown county (D5), missing contact email (PD9)."""
    changes, field = BAD_PROFILES[case]
    path, data = profile_file(tmp_path, **changes)
    cid = data["center_id"]
    result = await cli("start", path, client=centers.client, task_queue=centers.task_queue, database_url=database_url)
    assert result.status == 2, result
    assert f"invalid profile: {field}:" in result.err
    assert result.out == ""
    with pytest.raises(RPCError) as info:
        await centers.client.get_workflow_handle(f"center-{cid}").describe()
    assert info.value.status == RPCStatusCode.NOT_FOUND
    async with db_pool.acquire() as conn:
        assert await conn.fetchval("SELECT count(*) FROM audit_log WHERE center_id = $1", cid) == 0
        assert await conn.fetchval("SELECT count(*) FROM centers WHERE center_id = $1", cid) == 0


async def test_unreadable_or_malformed_profile_file_exits_2(tmp_path):
    missing = await cli("start", str(tmp_path / "nope.json"))
    assert missing.status == 2 and "cannot read profile" in missing.err
    broken = tmp_path / "broken.json"
    broken.write_text("{\"center_id\": ", encoding="utf-8")
    malformed = await cli("start", str(broken))
    assert malformed.status == 2 and "not valid JSON" in malformed.err
    not_object = await cli("start", write_json(tmp_path, "list.json", [1, 2]))
    assert not_object.status == 2 and "invalid profile" in not_object.err


async def test_example_center_profile_starts(centers, tmp_path):
    """examples/center.json is valid (credit codes pass the GB 32100-2015 check digit, M6 partner)."""
    data = json.loads((REPO / "examples" / "center.json").read_text(encoding="utf-8"))
    data["center_id"] = f"ex-{f.rid()[:10]}"
    path = write_json(tmp_path, "center.json", data)
    result = await cli("start", path, client=centers.client, task_queue=centers.task_queue)
    track(centers, data["center_id"])
    assert result.status == 0, result


async def test_show_of_unknown_center_exits_1(env):
    result = await cli("show", "no-such-center", client=env.client)
    assert result.status == 1 and "has no lifecycle" in result.err
