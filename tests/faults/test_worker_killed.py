"""Worker killed: ``kill -9`` of the real worker process (``centers-worker``) on the dev server while
``record_outcomes`` is inside its PostgreSQL transaction (held there by a table lock the test takes),
then a new worker, and the client resending the same request_id. The center ends exactly as a twin
center that ran the same step without a fault: state, audit rows, ledger and delivered mail.
"""

from __future__ import annotations

import asyncio
import signal

import asyncpg
import pytest

from models.state import ActionResult, CenterState
from tests.fixtures.processes import stop_processes
from tests.workers.test_worker_process import _application, _settings, _start, _worker_process

pytestmark = pytest.mark.slow


async def waiting_on_audit_log(conn: asyncpg.Connection) -> bool:
    return bool(await conn.fetchval(
        "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
        "WHERE c.relname = 'audit_log' AND NOT l.granted"))


async def outcome_of(pool: asyncpg.Pool, center_id: str) -> dict:
    async with pool.acquire() as conn:
        audits = await conn.fetch("SELECT action, outcome, phase_before, phase_after, rule_ids FROM audit_log "
                                  "WHERE center_id = $1 ORDER BY at, key", center_id)
        ledger = await conn.fetchval("SELECT count(*) FROM subsidy_ledger WHERE center_id = $1", center_id)
        outbox = await conn.fetch("SELECT key, message_id, sent_at FROM outbox WHERE center_id = $1", center_id)
    return {"audits": [tuple(a) for a in audits], "ledger": ledger, "outbox": outbox}


async def delivered(pool, smtp_server, center_id: str) -> list[str]:
    """Wait until every outbox row of the center is sent; the Message-IDs the SMTP server received."""
    for _ in range(300):
        rows = (await outcome_of(pool, center_id))["outbox"]
        if rows and all(r["sent_at"] for r in rows):
            break
        await asyncio.sleep(0.2)
    ids = {r["message_id"] for r in rows}
    return sorted(str(m["Message-ID"]) for m in list(smtp_server.messages) if str(m["Message-ID"]) in ids)


def comparable(state) -> tuple:
    return (state.phase, state.revision, len(state.answered), [d.kind for d in state.agenda], len(state.rejected))


@pytest.mark.timeout(600)
async def test_worker_killed_inside_record_outcomes_then_resent_equals_an_uninterrupted_run(
        ops_server, ops_client, database_url, smtp_server, db_pool, tmp_path):
    settings = _settings(ops_server, database_url, smtp_server)
    first = await _worker_process(settings, tmp_path / "first.log")
    second = None
    try:
        twin, center = await _start(ops_client, settings.task_queue), await _start(ops_client, settings.task_queue)
        await twin.execute_update("submit_application", _application())  # the uninterrupted run

        payload = _application()
        lock = await asyncpg.connect(database_url)
        blocked = lock.transaction()
        await blocked.start()
        await lock.execute("LOCK TABLE audit_log IN SHARE MODE")  # record_outcomes' INSERT waits here
        sent = asyncio.create_task(center.execute_update("submit_application", payload, result_type=ActionResult))
        for _ in range(300):
            if await waiting_on_audit_log(lock):
                break
            await asyncio.sleep(0.1)
        assert await waiting_on_audit_log(lock), "record_outcomes never reached its transaction"
        first.send_signal(signal.SIGKILL)
        await first.wait()
        await blocked.rollback()
        await lock.close()

        second = await _worker_process(settings, tmp_path / "second.log")
        again = await asyncio.wait_for(center.execute_update("submit_application", payload, result_type=ActionResult), 300)  # same request_id
        first_answer = await asyncio.wait_for(sent, 60)
        assert again.request_id == first_answer.request_id == payload["request_id"]

        twin_state = await twin.query("state", result_type=CenterState)
        state = await center.query("state", result_type=CenterState)
        assert comparable(state) == comparable(twin_state)
        ours, theirs = await outcome_of(db_pool, state.center_id), await outcome_of(db_pool, twin_state.center_id)
        assert ours["audits"] == theirs["audits"] and ours["ledger"] == theirs["ledger"]
        assert [a for a in ours["audits"] if a[1] == "accepted"] == [a for a in theirs["audits"] if a[1] == "accepted"]
        mail, twin_mail = (await delivered(db_pool, smtp_server, state.center_id),
                           await delivered(db_pool, smtp_server, twin_state.center_id))
        assert len(mail) == len(twin_mail) == len(ours["outbox"]) and len(set(mail)) == len(mail)  # once each
    finally:
        await stop_processes(first, second)


@pytest.mark.timeout(300)
async def test_worker_killed_between_outcome_commit_and_mail_delivery_mail_arrives_once(
        ops_server, ops_client, database_url, smtp_server, db_pool, tmp_path):
    """The first worker's SMTP server is unreachable, so its outcomes are committed but no mail left;
    it is killed, and the worker that takes over delivers each message once (by Message-ID)."""
    from workers.temporal_dev import free_port

    unreachable = _settings(ops_server, database_url, smtp_server).model_copy(update={"smtp_port": free_port()})
    first = await _worker_process(unreachable, tmp_path / "first.log")
    second = None
    try:
        center = await _start(ops_client, unreachable.task_queue)
        payload = _application()
        await center.execute_update("submit_application", payload, result_type=ActionResult)
        state = await center.query("state", result_type=CenterState)
        rows = (await outcome_of(db_pool, state.center_id))["outbox"]
        assert len(rows) == 2 and not any(r["sent_at"] for r in rows)  # committed, not delivered
        first.send_signal(signal.SIGKILL)
        await first.wait()

        second = await _worker_process(unreachable.model_copy(update={"smtp_port": smtp_server.port}),
                                       tmp_path / "second.log")
        again = await center.execute_update("submit_application", payload, result_type=ActionResult)
        assert again.duplicate
        mail = await delivered(db_pool, smtp_server, state.center_id)
        assert sorted(mail) == sorted(r["message_id"] for r in rows)  # each once, none lost
        audits = (await outcome_of(db_pool, state.center_id))["audits"]
        assert [a[0] for a in audits if a[1] == "accepted"] == ["submit_application"]
    finally:
        await stop_processes(first, second)
