"""PD9 end to end: reminders 30, 7 and 1 days before a deadline, then an overdue notice, by email,
on the time-skipping server with the real policy durations."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import asyncpg
import pytest_asyncio

from db.outcomes import list_audit, list_outbox
from tests.fixtures import factories as f
from tests.workflows.flows import state_of, today


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    return fresh_db_pool  # the advance below must not share the yearly cap (PD6) with other tests


async def test_pd9_reminders_then_overdue_notice_for_a_clawback(centers, env, db_pool, smtp_server):
    profile = f.profile()
    handle = await centers.start(profile)
    bureau = f.actor("city_bureau")
    year = (await today(env)).year
    await handle.execute_update("grant_advance", {"actor": bureau, "request_id": f.rid(), "year": year,
                                                  "amount_yuan": "1000000", "payment_ref": "拨款单"})
    await handle.execute_update("settle_subsidy", {"actor": bureau, "request_id": f.rid(), "year": year,
                                                   "amount_due_yuan": "600000", "assessment_ref": "绩效评价"})
    deadline = next(d for d in (await state_of(handle)).agenda if d.id.startswith("clawback"))
    await env.sleep(deadline.due_at - await env.get_current_time() + timedelta(hours=1))
    for _ in range(100):
        state = await state_of(handle)
        if state.deadline(deadline.id).overdue:
            break
        await asyncio.sleep(0.05)
    assert state.deadline(deadline.id).overdue and state.deadline(deadline.id).reminders_sent == [30, 7, 1]

    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
        outbox = await list_outbox(conn, profile.center_id)
    automatic = [(a.action, a.at) for a in audit if a.outcome == "automatic" and a.action != "opened"]
    assert [a for a, _ in automatic] == ["reminder", "reminder", "reminder", f"due:{deadline.kind}"]
    before = [deadline.due_at - at for _, at in automatic]
    for got, days in zip(before, (30, 7, 1, 0)):
        assert abs(got - timedelta(days=days)) < timedelta(minutes=1), (got, days)
    reminders = [o for o in outbox if "remind" in o.key or "overdue" in o.key]
    assert len(reminders) == 4
    messages = [await smtp_server.wait_for(lambda m, k=o.message_id: m["Message-ID"] == k) for o in reminders]
    for message in messages:
        body = message.get_body(preferencelist=("plain",)).get_content()
        assert state.display_name in body and "截止时间" in body and "Due:" in body
        assert "wangmin@center.example" in str(message["To"])
    assert "Overdue" in str(messages[-1]["Subject"]) and "kjj@zhoushan.example" in str(messages[-1]["To"])
