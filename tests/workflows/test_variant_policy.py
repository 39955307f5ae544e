"""PD8: behaviour, deadlines, emails and refusals follow the policy file alone (issue 13).

A variant of the shipped guideline file (a 7-working-day notice, a 2-year rectification, a 6-month
change window and a 4,000,000 cap) drives a lifecycle through an advance, a notice, a rectification
and a major change on the time-skipping server. Every email, audit summary and refusal it produces
carries the variant's numbers and none of the 2025 guideline's.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import asyncpg
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError

from db.outcomes import list_audit, list_outbox
from models.policy import POLICY_DIR, load_policy
from rules.calendar import default_calendar, local_date, notice_end, period_end
from tests.fixtures import factories as f
from tests.workflows.flows import issue_document, state_of, through_evaluation, today, until
from tests.workflows.scenarios import report_and_grade, sleep_until_local

# The 2025 guideline's numbers that the variant changes, as the texts write them.
OLD_NUMBERS = [
    r"(?<![\d.,])5 ?个工作日", r"\b5 working days", r"整改期 ?1 ?年", r"rectify within 1 year", r"within one year",
    r"(?<![\d.,])3 ?个月", r"\b3 months?\b", r"3,000,000", r"300 ?万",
]


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    return fresh_db_pool  # the cap of this test's own policy must see no other advance


def variant_file(tmp_path):
    text = (POLICY_DIR / "zs-kjj-2025-10-21.toml").read_text(encoding="utf-8")
    for name, value in {"notice_working_days": "7", "rectification_years": "2", "major_change_report_months": "6",
                        "yearly_city_cap_yuan": '"4000000.00"'}.items():
        head = f"[parameters.{name}]\nvalue = "
        start = text.index(head) + len(head)
        text = text[:start] + value + text[text.index("\n", start):]
    text = text.replace('version = "zs-kjj-2025-10-21"', 'version = "zs-test-variant"')
    path = tmp_path / "zs-test-variant.toml"
    path.write_text(text, encoding="utf-8")
    return path


async def test_pd8_a_variant_policy_file_alone_sets_every_number(centers, env, db_pool, tmp_path):
    policy = load_policy(variant_file(tmp_path))
    profile = f.profile()
    handle = await centers.start(profile, policy=policy)
    bureau = f.actor("city_bureau", name="张华")
    refusals = []

    try:  # S1, PD6: 4,500,000 passes the 2025 cap by more, and the variant's by 500,000
        await handle.execute_update("grant_advance", {"actor": bureau, "request_id": f.rid(), "amount_yuan": "4500000",
                                                      "payment_ref": "拨款单"})
        raise AssertionError("an advance over the variant's cap was granted")
    except WorkflowUpdateFailedError as err:
        refusals.append(err.cause.details[0]["message"])
    assert "4,000,000" in refusals[0]
    await handle.execute_update("grant_advance", {"actor": bureau, "request_id": f.rid(), "amount_yuan": "3500000",
                                                  "payment_ref": "拨款单"})

    # D7, PD2: a 7-working-day notice
    await through_evaluation(handle)
    published = await today(env)
    await handle.execute_update("publish_notice", f.notice(published))
    state = await state_of(handle)
    assert state.notice.ends_at == notice_end(published, 7)
    await env.sleep(state.notice.ends_at - await env.get_current_time() + timedelta(minutes=1))
    await until(handle, lambda s: s.deadline("designation-document") is not None, "document due")
    await issue_document(handle, env)
    designated = await state_of(handle)

    # M2, PD4, PD10: a 2-year rectification
    first_year = designated.designation.on.year + (1 if (designated.designation.on.month, designated.designation.on.day)
                                                   > (6, 30) else 0)
    state = await report_and_grade(handle, env, first_year, "不合格")
    rectification = next(d for d in state.agenda if d.kind == "rectification")
    started = state.operating.rectifications[-1].started_on
    assert local_date(rectification.nominal_due_at or rectification.due_at) == \
        period_end(started, years=2).nominal or rectification.due_at == period_end(started, years=2, calendar=default_calendar()).due_at

    # M3, PD3, PD10: a 6-month window
    await handle.execute_update("report_major_change", {
        "actor": f.actor("implementing_entity", name="王敏"), "request_id": f.rid(), "kind": "restructuring",
        "happened_on": (await today(env)).isoformat(), "description": "重组"})
    change = (await state_of(handle)).operating.major_changes[-1]
    assert local_date(change.window_ends_at - timedelta(seconds=1)) >= period_end(change.happened_on, months=6).nominal

    await sleep_until_local(env, (await today(env)) + timedelta(days=40))  # reminders of the variant's deadlines
    state = await state_of(handle)
    async with db_pool.acquire() as conn:
        mail = await list_outbox(conn, profile.center_id)
        audit = await list_audit(conn, profile.center_id)
    texts = ([m.subject + "\n" + m.body for m in mail] + [a.summary for a in audit] + refusals
             + [r.message for r in state.rejected])
    found = [(p, t[:120]) for t in texts for p in OLD_NUMBERS if re.search(p, t)]
    assert found == [], found
    assert any(re.search(r"7 ?个工作日|7 working days", t) for t in texts), "the notice speaks of 7 working days"
    assert any(re.search(r"整改期 ?2 ?年|within 2 year", t) for t in texts), "the rectification speaks of 2 years"
    assert state.policy.yearly_city_cap_yuan == Decimal("4000000.00") and len(mail) >= 8
