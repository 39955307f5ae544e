"""Register a center from the profile form; its contact is invited by an outbox mail whose one-time
link sets a password for an account bound to the center (the embedded directory's invite flow)."""

from __future__ import annotations

import re
import uuid

import pytest

from staff import service
from staff.errors import NotFound
from tests.fixtures import factories as f
from tests.portal.browser import dotted, fill, sign_in, submit


async def test_portal_bureau_registers_a_center_and_its_contact_is_invited(portal, page_factory):
    stack, url, cid = portal, portal.url, portal.center_id
    email = f"contact-{uuid.uuid4().hex[:6]}@center.example"
    profile = f.profile_data(cid, contacts=[{"name": "陈晓", "email": email}])
    bureau = await page_factory()
    await sign_in(bureau, url, stack.users["bureau"].username)
    await bureau.goto(f"{url}/register")
    await fill(bureau, dotted(profile))
    await submit(bureau)
    assert bureau.url.endswith(f"/centers/{cid}")
    assert await bureau.locator("[data-testid=phase]").get_attribute("data-phase") == "preparing"

    [mail] = await stack.audit("SELECT recipients, body FROM outbox WHERE center_id = $1 AND key LIKE '%:invite:%'", cid)
    assert mail["recipients"] == [email]
    link = re.search(r"http://\S+/invite/\S+", mail["body"]).group(0)

    contact = await page_factory()
    await contact.goto(link)
    await contact.fill("input[name=password]", "a new long password")
    await contact.fill("input[name=again]", "a new long password")
    async with contact.expect_navigation():
        await contact.click("form button")
    assert contact.url.endswith("/inbox")
    assert "陈晓" in await contact.locator("[data-testid=who]").inner_text()
    row = contact.locator(f"[data-testid=inbox] tr[data-center='{cid}'] a[data-action='submit_application']")
    assert await row.count() == 1
    again = await contact.goto(link)  # an invitation works once
    assert again.status == 404
    await sign_in(contact, url, email, password="a new long password")
    assert contact.url.endswith("/inbox")


async def test_portal_county_clerk_registers_only_in_their_county(portal, page_factory):
    stack, url, cid = portal, portal.url, portal.center_id
    clerk = await page_factory()
    await sign_in(clerk, url, stack.users["putuo"].username)
    await clerk.goto(f"{url}/register")
    await fill(clerk, dotted(f.profile_data(cid, county="dinghai")))
    await submit(clerk)
    assert "own county" in await clerk.locator(".field-error[data-field=county]").inner_text()
    with pytest.raises(NotFound):
        await service.center_state(stack.ctx, cid)
    contact = await page_factory()
    await sign_in(contact, url, stack.users["contact"].username)
    response = await contact.goto(f"{url}/register")
    assert "/login" in contact.url and response.status == 200  # no register page for a center's contact
