"""`centers deadlines`: every open deadline across centers, soonest first, overdue marked (D7, PD1, PD9)."""

from __future__ import annotations

import json
from datetime import timedelta

from models.state import CenterState
from tests.centers.cli_support import cli, profile_file
from tests.fixtures import factories as f
from tests.workflows.flows import through_evaluation, today
from tests.workflows.scenarios import designate_for_next_year


async def test_d7_open_notice_deadline_is_listed_with_rule_and_overdue_mark(centers, env, database_url, tmp_path):
    ids = []
    for _ in range(2):
        path, data = profile_file(tmp_path)
        assert (await cli("start", path, client=centers.client, task_queue=centers.task_queue)).status == 0
        handle = centers.client.get_workflow_handle(f"center-{data['center_id']}")
        centers.handles.append(handle)
        ids.append(data["center_id"])
    noticed = centers.client.get_workflow_handle(f"center-{ids[0]}")
    await through_evaluation(noticed)
    await noticed.execute_update("publish_notice", f.notice(await today(env)))
    state = await noticed.query("state", result_type=CenterState)
    due = state.deadline("notice-end").due_at

    listed = await cli("deadlines", "--json", client=centers.client, database_url=database_url)
    assert listed.status == 0, listed
    ours = [d for d in listed.json() if d["center_id"] in ids]
    assert [(d["center_id"], d["deadline_id"], d["rule_id"]) for d in ours] == [(ids[0], "notice-end", "D7")]
    assert ours[0]["due_at"] == due.isoformat() and ours[0]["overdue"] is False
    all_due = [d["due_at"] for d in listed.json()]
    assert all_due == sorted(all_due)  # soonest first

    table = await cli("deadlines", client=centers.client, database_url=database_url, now=due - timedelta(days=2))
    assert table.status == 0 and "public notice ends" in table.out and "in 2 d" in table.out
    later = await cli("deadlines", "--overdue", client=centers.client, database_url=database_url,
                      now=due + timedelta(hours=1))
    line = next(line for line in later.out.splitlines() if ids[0] in line)
    assert "OVERDUE" in line and "D7" in line
    soon = await cli("deadlines", "--within", "1", "--json", client=centers.client, database_url=database_url,
                     now=due - timedelta(days=3))
    assert not [d for d in soon.json() if d["center_id"] in ids]


async def test_deadlines_with_nothing_open(centers, database_url, blank_database_url):
    from db.migrate import apply_migrations
    import asyncpg

    conn = await asyncpg.connect(blank_database_url)
    try:
        await apply_migrations(conn)
    finally:
        await conn.close()
    result = await cli("deadlines", client=centers.client, database_url=blank_database_url)
    assert result.status == 0 and result.out.strip() == "no open deadline"
    json_result = await cli("deadlines", "--json", client=centers.client, database_url=blank_database_url)
    assert json.loads(json_result.out) == []


async def test_m1_year_marker_is_not_listed_as_a_deadline(centers, env, database_url):
    """A designated center whose first evaluated year is next year waits on the yearly marker only:
    nobody acts on it, so `deadlines` lists nothing for it and `show` marks the marker automatic."""
    handle = await centers.start(f.profile())
    state = await designate_for_next_year(handle, env)
    assert [d.internal for d in state.agenda] == [True]
    listed = await cli("deadlines", "--json", client=centers.client, database_url=database_url)
    assert listed.status == 0, listed
    assert not [d for d in listed.json() if d["center_id"] == state.center_id]
    shown = await cli("show", state.center_id, client=centers.client)
    line = next(line for line in shown.out.splitlines() if "evaluation year" in line)
    assert "automatic" in line and "city_bureau" not in line
