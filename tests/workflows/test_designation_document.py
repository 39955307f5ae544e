"""Designation by document end to end (D7, PD9, PD16, PD17) on the time-skipping server, real
PostgreSQL and SMTP. The name must be unique among live centers, so every test here has a database
of its own (as in test_money.py): other tests' centers share the field's default name."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.outcomes import list_audit
from tests.fixtures import factories as f
from tests.workflows.flows import state_of, through_evaluation, today, until


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    """A fresh database per test, so the names of live centers are this test's alone."""
    return fresh_db_pool


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


def addresses(message) -> set[str]:
    return {a.addr_spec for a in message["To"].addresses}


async def refusal(handle, action: str, payload: dict) -> dict:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(action, payload)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ActionRefused"
    return cause.details[0]


async def notice_over(handle, env):
    """D3-D7 with today's date; sleeps past the 5-working-day notice."""
    await through_evaluation(handle)
    await handle.execute_update("publish_notice", f.notice(await today(env)))
    state = await state_of(handle)
    await env.sleep(state.notice.ends_at - await env.get_current_time() + timedelta(minutes=1))
    return await until(handle, lambda s: s.notice.ended, "notice end")


async def test_d7_pd16_full_run_to_designation_by_document_with_audit_and_mail(centers, env, db_pool, smtp_server):
    """D1-D7, PD16: application, county review, city evaluation, 5-working-day notice; the notice
    ending with no objection designates nobody by itself: the bureau issues the document (number,
    date, name 舟山市新材料产业创新中心), under a deadline for the bureau."""
    profile = f.profile()
    handle = await centers.start(profile)
    state = await notice_over(handle, env)
    assert state.phase == "public_notice" and state.designation is None
    deadline = state.deadline("designation-document")
    assert (deadline.rule_id, deadline.who_acts, deadline.reminders) == ("PD16", "city_bureau", True)
    day = await today(env)
    result = await handle.execute_update("issue_designation", f.designation_document(day))
    assert result["phase"] == "designated"
    state = await state_of(handle)
    assert (state.designation.name, state.designation.on, state.designation.document_ref) == (
        "舟山市新材料产业创新中心", day, "舟科发〔2026〕18号")
    assert state.deadline("designation-document") is None

    async with db_pool.acquire() as conn:
        actions = [r.action for r in await list_audit(conn, profile.center_id)]
    for expected in ("opened", "submit_application", "record_county_review", "record_city_evaluation",
                     "publish_notice", "due:notice_end", "issue_designation"):
        assert expected in actions
    due = await smtp_server.wait_for(
        lambda m: profile.center_id in text_of(m) and "designation document due" in str(m["Subject"]), timeout=10)
    assert "kjj@zhoushan.example" in addresses(due)
    designated = await smtp_server.wait_for(
        lambda m: profile.center_id in text_of(m) and "/ Designation —" in str(m["Subject"]), timeout=10)
    assert "舟山市新材料产业创新中心" in text_of(designated) and "舟科发〔2026〕18号" in text_of(designated)
    assert addresses(designated) == {"wangmin@center.example", "kj-dinghai@zhoushan.example", "kjj@zhoushan.example"}


async def test_pd16_name_is_unique_among_live_centers(centers, env):
    """PD16: two centers of one field: the second cannot take the first's name; the bureau sets another ××."""
    first, second = await centers.start(f.profile()), await centers.start(f.profile())
    await notice_over(first, env)
    await first.execute_update("issue_designation", f.designation_document(await today(env)))
    await notice_over(second, env)
    taken = await refusal(second, "issue_designation", f.designation_document(await today(env)))
    assert (taken["rule_id"], taken["field"]) == ("PD16", "name_xx") and first.id.removeprefix("center-") in taken["message"]
    assert (await state_of(second)).phase == "public_notice"
    await second.execute_update("issue_designation", f.designation_document(await today(env), name_xx="海洋新材料"))
    assert (await state_of(second)).designation.name == "舟山市海洋新材料产业创新中心"


async def test_pd9_pd16_document_deadline_reminds_the_bureau_then_turns_overdue(centers, env, smtp_server):
    """PD16, PD9: the document deadline reminds the city bureau before it and turns overdue after it;
    the document can still be issued late."""
    profile = f.profile()
    handle = await centers.start(profile)
    state = await notice_over(handle, env)
    deadline = state.deadline("designation-document")
    await env.sleep(deadline.due_at - await env.get_current_time() + timedelta(hours=1))
    state = await until(handle, lambda s: s.deadline("designation-document").overdue, "document overdue")
    assert state.deadline("designation-document").reminders_sent == [30, 7, 1]
    reminder = await smtp_server.wait_for(
        lambda m: profile.center_id in text_of(m) and "Reminder: issue the designation document" in str(m["Subject"]))
    assert addresses(reminder) == {"kjj@zhoushan.example"}
    await handle.execute_update("issue_designation", f.designation_document(await today(env)))
    assert (await state_of(handle)).phase == "designated"


async def test_pd16_objection_open_at_the_notice_end_is_a_deadline_for_the_bureau(centers, env):
    """PD16: an objection still open when the notice ends becomes the bureau's deadline; once it is
    dismissed, the document is due; the document is refused while the objection is open."""
    handle = await centers.start(f.profile())
    await through_evaluation(handle)
    await handle.execute_update("publish_notice", f.notice(await today(env)))
    await handle.execute_update("file_objection", {
        "actor": f.actor("public", name="李某"), "request_id": f.rid(), "objector": "李某",
        "contact": "li@example.com", "grounds": "材料存在不实之处"})
    state = await state_of(handle)
    await env.sleep(state.notice.ends_at - await env.get_current_time() + timedelta(hours=1))
    state = await until(handle, lambda s: s.deadline("objections-open") is not None, "objection deadline")
    assert state.deadline("objections-open").who_acts == "city_bureau"
    held = await refusal(handle, "issue_designation", f.designation_document(await today(env)))
    assert (held["rule_id"], held["field"]) == ("PD16", "phase") and "objection" in held["message"]
    await handle.execute_update("resolve_objection", {
        "actor": f.actor("city_bureau"), "request_id": f.rid(), "objection_id": state.objections[0].id,
        "outcome": "dismissed", "finding": "经核实不成立"})
    state = await state_of(handle)
    assert state.deadline("objections-open") is None and state.deadline("designation-document") is not None


async def test_d4_pd17_application_without_the_construction_plan_is_refused(centers):
    """PD17: the construction plan is required; the letter is the lead unit's."""
    handle = await centers.start(f.profile())
    missing = await refusal(handle, "submit_application", f.application(construction_plan=None))
    assert (missing["rule_id"], missing["field"]) == ("PD17", "construction_plan")
    letter = f.application()
    letter["commitment_letter"]["signed_by"] = "舟山新材料创新中心有限公司"
    wrong = await refusal(handle, "submit_application", letter)
    assert (wrong["rule_id"], wrong["field"]) == ("PD17", "commitment_letter.signed_by")
    assert (await state_of(handle)).phase == "preparing"
