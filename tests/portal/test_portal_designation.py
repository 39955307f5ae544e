"""D3-D7 through the portal by three people and the public, in a real Chromium.

The contact applies, the Dinghai clerk recommends from the inbox, the bureau evaluates and
publishes, a member of the public objects without signing in, the bureau dismisses it, and when
the notice ends the center is designated. Each step is checked on screen and in the audit log,
whose rows carry the signed-in users' ids (the actor comes from the session, never the form).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from models.state import CenterState
from rules.catalog import ACTIONS
from staff import service
from tests.fixtures import factories as f
from tests.fixtures.temporal import replay_all
from tests.portal.browser import dotted, eventually, fill, sign_in, submit
from tests.portal.conftest import SCREENSHOTS
from tests.workflows.flows import today


async def shot(page, name: str) -> None:
    """Docs pictures (README): saved when CENTERS_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(Path(SCREENSHOTS) / f"portal-{name}.png"), full_page=True)


async def act_from_inbox(page, url: str, center_id: str, action: str) -> None:
    await page.goto(f"{url}/inbox")
    row = page.locator(f"[data-testid=inbox] tr[data-center='{center_id}']")
    await row.locator(f"a[data-action='{action}']").click()
    await page.wait_for_load_state()
    assert f"/centers/{center_id}/actions/{action}" in page.url


async def test_portal_d3_d7_designation_by_three_people_and_the_public(portal, page_factory, env):
    stack, url, cid = portal, portal.url, portal.center_id
    handle = (await service.start(stack.ctx, f.profile(center_id=cid, county="dinghai"))).workflow_id
    users = stack.users

    # 1. The center's contact signs in and applies (D3, D4).
    contact = await page_factory()
    await sign_in(contact, url, users["contact"].username)
    await act_from_inbox(contact, url, cid, "submit_application")
    application = f.application()
    application.pop("partner_agreements", None)
    await fill(contact, dotted(application))
    await submit(contact)
    assert await contact.locator("[data-testid=done] [data-phase]").get_attribute("data-phase") == "county_review"

    # 2. The Dinghai clerk finds it in the inbox and recommends (D5).
    clerk = await page_factory()
    await sign_in(clerk, url, users["dinghai"].username)
    await act_from_inbox(clerk, url, cid, "record_county_review")
    await fill(clerk, dotted(f.county_review()))
    await shot(clerk, "action-form")
    await submit(clerk)
    assert await clerk.locator("[data-testid=done] [data-phase]").get_attribute("data-phase") == "city_evaluation"

    # 3. The bureau records the evaluation and publishes the notice (D6, D7).
    bureau = await page_factory()
    await sign_in(bureau, url, users["bureau"].username)
    await act_from_inbox(bureau, url, cid, "record_city_evaluation")
    await fill(bureau, dotted(f.city_evaluation()))
    await submit(bureau)
    assert "city_evaluation" in await bureau.locator("[data-testid=done]").inner_text()
    await act_from_inbox(bureau, url, cid, "publish_notice")
    await fill(bureau, dotted(f.notice(await today(env))))
    await submit(bureau)
    assert await bureau.locator("[data-testid=done] [data-phase]").get_attribute("data-phase") == "public_notice"

    # 4. A member of the public objects, without signing in (D7).
    public = await page_factory()
    await public.goto(f"{url}/public/centers/{cid}/objection")
    await public.fill("input[name=objector]", "张三")
    await public.fill("input[name=contact]", "13800000000")
    await public.fill("textarea[name=grounds]", "实施主体近三年有违规记录")
    async with public.expect_navigation():
        await public.click("[data-testid=objection-form] button")
    assert "objection-" in await public.locator("[data-testid=summary]").inner_text()

    # 5. The bureau sees it in the inbox and dismisses it.
    await bureau.goto(f"{url}/inbox")
    await shot(bureau, "inbox")
    await act_from_inbox(bureau, url, cid, "resolve_objection")
    assert (await bureau.input_value("[name=objection_id]")).startswith("objection-")
    await fill(bureau, {"outcome": "dismissed", "finding": "经核实，相关记录已整改完毕，不影响认定"})
    await submit(bureau)
    assert "dismissed" in await bureau.locator("[data-testid=summary]").inner_text()

    # 6. The notice ends: designated (or, where the bureau issues the document, issued by the bureau).
    await env.sleep(timedelta(days=20))

    async def settled() -> CenterState | None:
        state = await service.center_state(stack.ctx, cid)
        return state if state.phase.value != "public_notice" or (state.notice and state.notice.ended) else None

    state = await eventually(settled, timeout=60)
    if state.phase.value != "designated" and "issue_designation" in ACTIONS:
        await act_from_inbox(bureau, url, cid, "issue_designation")
        await fill(bureau, {"document_number": "舟科发〔2026〕18号", "issued_on": (await today(env)).isoformat()})
        await submit(bureau)
        assert await bureau.locator("[data-testid=done] [data-phase]").get_attribute("data-phase") == "designated"
    await bureau.goto(f"{url}/centers/{cid}")
    assert await bureau.locator("[data-testid=phase]").get_attribute("data-phase") == "designated"
    await shot(bureau, "center")

    # The audit trail on screen and in PostgreSQL carries who did each step.
    expected = {
        "submit_application": users["contact"].user_id,
        "record_county_review": users["dinghai"].user_id,
        "record_city_evaluation": users["bureau"].user_id,
        "publish_notice": users["bureau"].user_id,
        "resolve_objection": users["bureau"].user_id,
    }
    if "issue_designation" in ACTIONS and state.phase.value != "designated":
        expected["issue_designation"] = users["bureau"].user_id
    for action, user_id in expected.items():
        row = bureau.locator(f"[data-testid=audit] tr[data-action='{action}']")
        assert await row.get_attribute("data-user") == user_id, action
    rows = {r["action"]: r for r in await stack.audit(
        "SELECT action, actor_user_id, actor_name, actor_role, actor_county FROM audit_log "
        "WHERE center_id = $1 AND outcome = 'accepted'", cid,
        until=lambda found: {"file_objection", *expected} <= {r["action"] for r in found})}
    assert {a: rows[a]["actor_user_id"] for a in expected} == expected
    assert (rows["record_county_review"]["actor_name"], rows["record_county_review"]["actor_county"]) == ("李华", "dinghai")
    assert rows["file_objection"]["actor_role"] == "public" and rows["file_objection"]["actor_user_id"] is None
    assert rows["file_objection"]["actor_name"] == "张三"

    # Determinism guard: the run (with the portal-audit-user-id patch) replays against the code.
    await replay_all(stack.client, [stack.client.get_workflow_handle(handle)])
