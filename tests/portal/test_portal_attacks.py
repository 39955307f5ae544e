"""Refusals and attacks on the portal, in a real Chromium (docs/security.md).

IDOR across counties (list and typed URL), a center user offered no bureau action and a forged
POST refused, a tampered actor field ignored, a double submit acting once, CSRF, XSS, the
expired session that keeps its input, failed sign-ins rate-limited, logout.
"""

from __future__ import annotations

import asyncio
from typing import Any, AsyncIterator

import pytest_asyncio

from staff import service
from tests.fixtures import factories as f
from tests.portal.browser import dotted, eventually, fill, sign_in, submit
from tests.portal.conftest import PortalStack, portal_stack


async def open_center(stack: PortalStack, *, applied: bool = True, **profile: Any) -> str:
    """A Dinghai center (the stack's), in county review when ``applied``."""
    started = await service.start(stack.ctx, f.profile(center_id=stack.center_id, county="dinghai", **profile))
    stack.handles.append(stack.client.get_workflow_handle(started.workflow_id))
    if applied:
        await service.act(stack.ctx, stack.center_id, "submit_application", f.application())
    return stack.center_id


async def csrf_of(page: Any) -> str:
    return await page.locator("input[name=csrf_token]").first.input_value()


async def phase_of(stack: PortalStack) -> str:
    return (await service.center_state(stack.ctx, stack.center_id)).phase.value


async def test_portal_idor_putuo_clerk_neither_sees_nor_acts_on_a_dinghai_center(listing_portal, page_factory):
    stack, url = listing_portal, listing_portal.url
    cid = await open_center(stack)
    dinghai = await page_factory()
    await sign_in(dinghai, url, stack.users["dinghai"].username)

    async def listed() -> bool:
        await dinghai.goto(f"{url}/centers")
        return await dinghai.locator(f"[data-testid=centers] tr[data-center='{cid}']").count() == 1

    await eventually(listed)  # the Dinghai clerk's list has it (visibility query, scoped)

    putuo = await page_factory()
    await sign_in(putuo, url, stack.users["putuo"].username)
    for path in ("/centers", "/centers?county=dinghai", f"/centers?phase=county_review"):
        await putuo.goto(url + path)
        assert await putuo.locator(f"tr[data-center='{cid}']").count() == 0, path
    await putuo.goto(f"{url}/inbox")
    assert await putuo.locator(f"tr[data-center='{cid}']").count() == 0
    for path in (f"/centers/{cid}", f"/centers/{cid}/actions/record_county_review"):  # typed URLs
        response = await putuo.goto(url + path)
        assert response.status == 404, path
        assert cid in await putuo.locator("[data-testid=error]").inner_text()
    token = await csrf_of(putuo)
    forged = await putuo.request.post(f"{url}/centers/{cid}/actions/record_county_review",
                                      form={"csrf_token": token, **dotted(f.county_review(county="putuo"))})
    assert forged.status == 404
    assert await phase_of(stack) == "county_review"


async def test_portal_center_user_gets_no_bureau_action_and_a_forged_post_is_refused(portal, page_factory):
    stack, url = portal, portal.url
    cid = await open_center(stack, applied=False)
    contact = await page_factory()
    await sign_in(contact, url, stack.users["contact"].username)
    await contact.goto(f"{url}/centers/{cid}")
    offered = await contact.locator("[data-testid=actions] a[data-action]").evaluate_all(
        "links => links.map(a => a.dataset.action)")
    assert set(offered) == {"submit_application", "withdraw"}  # implementing_entity's actions in preparing
    response = await contact.goto(f"{url}/centers/{cid}/actions/record_city_evaluation")
    assert response.status == 403
    forged = await contact.request.post(f"{url}/centers/{cid}/actions/record_city_evaluation",
                                        form={"csrf_token": await csrf_of(contact), **dotted(f.city_evaluation())})
    assert forged.status == 403
    assert await phase_of(stack) == "preparing"
    other = await contact.goto(f"{url}/centers/zs-someone-else")  # a center the contact is not bound to
    assert other.status == 404


async def test_portal_tampered_actor_field_acts_as_the_signed_in_user(portal, page_factory):
    stack, url = portal, portal.url
    cid = await open_center(stack)
    clerk = await page_factory()
    await sign_in(clerk, url, stack.users["dinghai"].username)
    await clerk.goto(f"{url}/centers/{cid}/actions/record_county_review")
    await fill(clerk, dotted(f.county_review()))
    await clerk.evaluate("""() => {
        const form = document.querySelector('[data-testid=action-form]');
        for (const [name, value] of [['actor.name', '市科技局'], ['actor.role', 'city_bureau'],
                                     ['actor.user_id', 'u-bureau-forged'],
                                     ['actor', '{"name":"市科技局","role":"city_bureau","user_id":"u-bureau-forged"}']]) {
            const input = document.createElement('input');
            input.type = 'hidden'; input.name = name; input.value = value; form.appendChild(input);
        }
    }""")
    await submit(clerk)
    assert await clerk.locator("[data-testid=done] [data-phase]").get_attribute("data-phase") == "city_evaluation"
    [row] = await stack.audit("SELECT actor_name, actor_role, actor_county, actor_user_id FROM audit_log "
                              "WHERE center_id = $1 AND action = 'record_county_review'", cid)
    assert dict(row) == {"actor_name": "李华", "actor_role": "county_department", "actor_county": "dinghai",
                         "actor_user_id": stack.users["dinghai"].user_id}


async def test_portal_double_submit_acts_once(portal, page_factory):
    stack, url = portal, portal.url
    cid = await open_center(stack)
    clerk = await page_factory()
    await sign_in(clerk, url, stack.users["dinghai"].username)
    await clerk.goto(f"{url}/centers/{cid}/actions/record_county_review")
    await fill(clerk, dotted(f.county_review()))
    form = await clerk.locator("[data-testid=action-form]").evaluate(
        "form => Object.fromEntries(new FormData(form).entries())")
    target = f"{url}/centers/{cid}/actions/record_county_review"
    first, second = await asyncio.gather(clerk.request.post(target, form=form), clerk.request.post(target, form=form))
    third = await clerk.request.post(target, form=form)  # the browser's "resubmit the form?"
    bodies = [await r.text() for r in (first, second, third)]
    assert all(r.status == 200 for r in (first, second, third)), bodies
    assert sum("Already done" in b for b in bodies) == 2
    # The step after the review (city evaluation) is recorded too, so the review's rows are all in.
    rows = await stack.audit("SELECT action FROM audit_log WHERE center_id = $1 AND outcome = 'accepted'", cid,
                             until=lambda found: found)
    await asyncio.sleep(1)  # room for a second row, if the double submit had acted twice
    rows = await stack.audit("SELECT action FROM audit_log WHERE center_id = $1 AND outcome = 'accepted'", cid)
    assert [r["action"] for r in rows].count("record_county_review") == 1
    assert await phase_of(stack) == "city_evaluation"


async def test_portal_post_without_csrf_token_gets_403(portal, page_factory):
    stack, url = portal, portal.url
    cid = await open_center(stack)
    clerk = await page_factory()
    await sign_in(clerk, url, stack.users["dinghai"].username)
    target = f"{url}/centers/{cid}/actions/record_county_review"
    missing = await clerk.request.post(target, form=dotted(f.county_review()))
    wrong = await clerk.request.post(target, form={"csrf_token": "guessed", **dotted(f.county_review())})
    assert (missing.status, wrong.status) == (403, 403)
    assert await phase_of(stack) == "county_review"
    logout = await clerk.request.post(f"{url}/logout", form={}, max_redirects=0)
    assert logout.status == 403  # logout is a form too


async def test_portal_script_in_a_center_name_renders_as_text(portal, page_factory):
    stack, url = portal, portal.url
    name = "<script>alert(1)</script>"
    cid = await open_center(stack, proposed_name=name)
    dialogs: list[str] = []
    for who, path in (("bureau", f"/centers/{cid}"), ("dinghai", "/inbox"),
                      ("dinghai", f"/centers/{cid}/actions/record_county_review")):
        page = await page_factory()
        page.on("dialog", lambda dialog: dialogs.append(dialog.message))
        await sign_in(page, url, stack.users[who].username)
        await page.goto(url + path)
        assert name in await page.locator("main").inner_text(), path
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in await page.content()
        assert await page.locator("main script").count() == 0
    assert dialogs == []


@pytest_asyncio.fixture(loop_scope="session")
async def short_session_portal(env, portal_db, worker_settings) -> AsyncIterator[PortalStack]:
    url, pool = portal_db
    async for stack in portal_stack(env.client, url, worker_settings, pool, session_minutes=2 / 60):
        yield stack


async def test_portal_expired_session_goes_to_sign_in_and_keeps_the_input(short_session_portal, page_factory):
    stack, url = short_session_portal, short_session_portal.url
    cid = await open_center(stack)
    clerk = await page_factory()
    await sign_in(clerk, url, stack.users["dinghai"].username)
    await clerk.goto(f"{url}/centers/{cid}/actions/record_county_review")
    review = dotted(f.county_review(reasons="材料齐全，运营良好，同意推荐（会话过期前填写）"))
    await fill(clerk, review)
    await asyncio.sleep(3)  # the session cookie's signature is now older than its 2 s lifetime
    await submit(clerk)
    assert "/login" in clerk.url and await clerk.locator("[data-testid=kept]").count() == 1
    assert await phase_of(stack) == "county_review"  # nothing was sent while signed out
    await clerk.fill("input[name=username]", stack.users["dinghai"].username)
    await clerk.fill("input[name=password]", "correct horse battery")
    async with clerk.expect_navigation():
        await clerk.click("form[action='/login'] button")
    assert clerk.url.endswith(f"/centers/{cid}/actions/record_county_review")
    assert await clerk.input_value("[name=reasons]") == review["reasons"]
    assert await clerk.input_value("[name='operating_status.note']") == review["operating_status.note"]
    await submit(clerk)
    assert await clerk.locator("[data-testid=done] [data-phase]").get_attribute("data-phase") == "city_evaluation"


async def test_portal_failed_sign_ins_are_rate_limited_and_logout_ends_the_session(portal, page_factory):
    stack, url = portal, portal.url
    page = await page_factory()
    for _ in range(5):
        await sign_in(page, url, stack.users["bureau"].username, password="wrong password!")
        assert "wrong username or password" in await page.locator(".error").inner_text()
    await sign_in(page, url, stack.users["bureau"].username)  # the right password, but too many failures
    assert "too many failed sign-ins" in await page.locator(".error").inner_text()

    other = await page_factory()
    await sign_in(other, url, stack.users["dinghai"].username)
    assert "/inbox" in other.url and "李华" in await other.locator("[data-testid=who]").inner_text()
    async with other.expect_navigation():
        await other.click("form[action='/logout'] button")
    await other.goto(f"{url}/inbox")
    assert "/login" in other.url
