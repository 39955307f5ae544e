"""Review of today's `refusal_noted` signal (workflows/lifecycle.py `refusal_noted`): its dedupe.

The handler promises "a repeat for the same request_id adds nothing". It compares the note's raw
``payload["request_id"]`` with ``Rejection.request_id``, which is stored *bounded* (cut to 120
characters, control characters replaced) and only when it is a str. A request_id the stored form
does not equal (longer than 120 characters, or not a string) therefore never matches: every repeat
of the same note adds another rejection to the state and another `rejected` row to the audit log.
Real Temporal (time-skipping server), real PostgreSQL.
"""

from __future__ import annotations

import pytest

from db.outcomes import list_audit
from models.refusal_note import REFUSAL_NOTED
from tests.fixtures import factories as f
from tests.workflows.flows import state_of


def note(action: str, payload: dict) -> dict:
    return {"action": action, "payload": payload,
            "reported": {"rule_id": "D5", "field": "request_id", "message": "as the client saw it"}}


async def test_refusal_noted_repeats_with_long_or_non_str_request_id_add_nothing(centers, db_pool):
    handle = await centers.start(f.profile())
    await handle.execute_update("submit_application", f.application())
    variants = [f.county_review(request_id="x" * 130), {**f.county_review(), "request_id": 7}]
    for payload in variants:
        for _ in range(3):  # the same note, repeated (a retrying client, or a flood)
            await handle.signal(REFUSAL_NOTED, note("record_county_review", payload))
    await handle.execute_update("withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                             "reason": "测试结束"})  # queues behind the signals, answers after their records
    state = await state_of(handle)
    noted = [(r.action, r.request_id) for r in state.rejected if r.via == "update"]
    assert len(noted) <= len(variants), f"each repeated note was audited again: {noted}"
    async with db_pool.acquire() as conn:
        rows = [a for a in await list_audit(conn, state.center_id) if a.outcome == "rejected"]
    assert len(rows) <= len(variants), f"{len(rows)} rejected audit rows for {len(variants)} distinct notes"


async def test_refusal_noted_repeat_after_fifty_other_refusals_adds_nothing(centers, db_pool):
    handle = await centers.start(f.profile())
    await handle.execute_update("submit_application", f.application())
    first = f.county_review(county="putuo", request_id="wrong-0")
    await handle.signal(REFUSAL_NOTED, note("record_county_review", first))
    for n in range(1, 51):
        await handle.signal(REFUSAL_NOTED, note("record_county_review",
                                                f.county_review(county="putuo", request_id=f"wrong-{n}")))
    await handle.signal(REFUSAL_NOTED, note("record_county_review", first))  # the same note again
    await handle.execute_update("withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                             "reason": "测试结束"})
    state = await state_of(handle)
    async with db_pool.acquire() as conn:
        rows = [a for a in await list_audit(conn, state.center_id)
                if a.outcome == "rejected" and a.request_id == "wrong-0"]
    assert len(rows) == 1, f"the repeated note was audited {len(rows)} times"


async def test_refusal_noted_for_an_accepted_request_writes_no_rejected_row(centers, db_pool):
    handle = await centers.start(f.profile())
    await handle.execute_update("submit_application", f.application())
    accepted = f.county_review(request_id="accepted-review")
    await handle.execute_update("record_county_review", accepted)
    await handle.signal(REFUSAL_NOTED, note("record_county_review", accepted))  # forged, or a stale retry's report
    await handle.execute_update("withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                             "reason": "测试结束"})
    state = await state_of(handle)
    assert "accepted-review" in state.answered
    async with db_pool.acquire() as conn:
        rows = [(a.outcome, a.summary) for a in await list_audit(conn, state.center_id)
                if a.request_id == "accepted-review"]
    assert [outcome for outcome, _ in rows] == ["accepted"], rows
