"""OpenID Connect sign-in against a real provider: panva/node-oidc-provider (OpenID Certified) on
the machine's Node, installed from npm into tests/portal/oidc/node_modules on first use.

The provider's own login and consent pages are driven in Chromium; the ID token's claims become
the user's role and county, which then scope what they see and do, and the audit log names them.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio

from portal.oidc import OidcConfig
from tests.fixtures import factories as f
from tests.portal.browser import dotted, eventually, fill, submit
from tests.portal.conftest import PortalStack, portal_stack
from tests.portal.test_portal_attacks import open_center, phase_of
from workers.temporal_dev import free_port

PROVIDER = Path(__file__).parent / "oidc"
ACCOUNTS = {
    "lihua-oidc": {"name": "李华（统一认证）", "email": "lihua@dinghai.example", "zs_role": "county_department",
                   "zs_county": "dinghai"},
    "no-role": {"name": "无角色", "email": "nobody@example.com"},
}


def _install_provider() -> None:
    if (PROVIDER / "node_modules" / "oidc-provider").exists():
        return
    npm = shutil.which("npm")
    if npm is None:
        pytest.fail("npm is needed for the OpenID Connect provider (Node 20 with npm)", pytrace=False)
    done = subprocess.run([npm, "install", "--no-audit", "--no-fund"], cwd=PROVIDER, capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]


@pytest_asyncio.fixture(loop_scope="session")
async def oidc_portal(env, portal_db, worker_settings) -> AsyncIterator[tuple[PortalStack, str]]:
    await asyncio.to_thread(_install_provider)
    portal_port, provider_port = free_port(), free_port()
    issuer = f"http://127.0.0.1:{provider_port}"
    config = OidcConfig(issuer=issuer, client_id="zhoushan-portal", client_secret="test-client-secret",
                        scopes="openid profile email zhoushan")
    process = await asyncio.create_subprocess_exec(
        shutil.which("node") or "node", str(PROVIDER / "provider.mjs"), cwd=PROVIDER,
        env={**os.environ, "PORT": str(provider_port), "CLIENT_ID": config.client_id,
             "CLIENT_SECRET": config.client_secret, "ACCOUNTS": json.dumps(ACCOUNTS),
             "REDIRECT_URI": f"http://127.0.0.1:{portal_port}/oidc/callback"},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        async def discovery() -> bool:
            try:
                async with httpx.AsyncClient() as http:
                    return (await http.get(f"{issuer}/.well-known/openid-configuration")).status_code == 200
            except httpx.HTTPError:
                assert process.returncode is None, (await process.stdout.read()).decode()[-2000:]
                return False

        await eventually(discovery, timeout=30)
        url, pool = portal_db
        async for stack in portal_stack(env.client, url, worker_settings, pool, oidc=config, port=portal_port):
            yield stack, issuer
    finally:
        process.terminate()
        await process.wait()


async def sign_in_through_provider(page: Any, url: str, login: str) -> None:
    await page.goto(f"{url}/login")
    await page.click("a[href^='/oidc/login']")
    await page.wait_for_selector("input[name=login]")  # the provider's own login page
    await page.fill("input[name=login]", login)
    await page.fill("input[name=password]", "any password")
    await page.click("button[type=submit]")
    await page.wait_for_load_state()
    if await page.locator("button[type=submit]").count() and "/interaction/" in page.url:  # consent
        await page.click("button[type=submit]")
    await page.wait_for_url(f"{url}/**")


async def test_portal_oidc_sign_in_claims_become_role_and_county(oidc_portal, page_factory):
    stack, issuer = oidc_portal
    cid = await open_center(stack)
    page = await page_factory()
    await sign_in_through_provider(page, stack.url, "lihua-oidc")
    assert page.url.endswith("/inbox")
    who = await page.locator("[data-testid=who]").inner_text()
    assert "李华（统一认证）" in who and "county_department" in who and "定海区" in who

    conn = await stack.db()
    try:
        row = await conn.fetchrow("SELECT user_id, role, county, email, password_hash FROM staff_users "
                                  "WHERE user_id = 'oidc-lihua-oidc'")
    finally:
        await conn.close()
    assert dict(row) == {"user_id": "oidc-lihua-oidc", "role": "county_department", "county": "dinghai",
                         "email": "lihua@dinghai.example", "password_hash": None}

    # The claimed county scopes the inbox, and the review is recorded as this person.
    await page.click(f"[data-testid=inbox] tr[data-center='{cid}'] a[data-action='record_county_review']")
    await fill(page, dotted(f.county_review()))
    await submit(page)
    assert await phase_of(stack) == "city_evaluation"
    [audit] = await stack.audit("SELECT actor_user_id, actor_county FROM audit_log WHERE center_id = $1 "
                                "AND action = 'record_county_review'", cid)
    assert dict(audit) == {"actor_user_id": "oidc-lihua-oidc", "actor_county": "dinghai"}


async def test_portal_oidc_without_a_role_claim_is_refused(oidc_portal, page_factory):
    stack, _ = oidc_portal
    page = await page_factory()
    await sign_in_through_provider(page, stack.url, "no-role")
    assert "/oidc/callback" in page.url
    assert "zs_role" in await page.locator(".error").inner_text()
    await page.goto(f"{stack.url}/inbox")
    assert "/login" in page.url
