"""PD9 end to end: reminders 30, 7 and 1 days before a deadline, then an overdue notice, by email,
on the time-skipping server with the real policy durations."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest_asyncio

from db.outcomes import list_audit, list_outbox
from tests.fixtures import factories as f
from tests.workflows.flows import advance_and_settle, until


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    return fresh_db_pool  # the advance below must not share the yearly cap (PD6) with other tests


async def test_pd9_reminders_then_overdue_notice_for_a_clawback(centers, env, db_pool, smtp_server):
    profile = f.profile()
    handle = await centers.start(profile)
    state = await advance_and_settle(handle, env, "1000000", "600000")
    deadline = next(d for d in state.agenda if d.id.startswith("clawback"))
    await env.sleep(deadline.due_at - await env.get_current_time() + timedelta(hours=1))
    state = await until(handle, lambda s: s.deadline(deadline.id).overdue, "overdue")
    assert state.deadline(deadline.id).reminders_sent == [30, 7, 1]

    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
        outbox = await list_outbox(conn, profile.center_id)
    automatic = [(a.action, a.at) for a in audit
                 if a.outcome == "automatic" and a.action not in ("opened", "pd10:period_ends")]  # PD10: S3 settled
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
