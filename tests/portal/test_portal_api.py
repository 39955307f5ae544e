"""The portal's JSON API and `centers <action>` through it (CENTERS_PORTAL_URL): a personal access
token, stored hashed and revocable, acts as its owner; the actor in the payload or flags is ignored."""

from __future__ import annotations

import json

import httpx

from staff import directory
from tests.centers.cli_support import cli
from tests.fixtures import factories as f
from tests.portal.test_portal_attacks import open_center, phase_of


async def token_for(stack, who: str) -> str:
    conn = await stack.db()
    try:
        return await directory.create_token(conn, stack.users[who].user_id, "cli")
    finally:
        await conn.close()


async def test_portal_cli_acts_through_the_portal_as_the_token_owner(portal):
    stack = portal
    cid = await open_center(stack)
    token = await token_for(stack, "dinghai")
    review = {k: v for k, v in f.county_review().items() if k != "request_id"}
    review["actor"] = {"name": "市科技局", "role": "city_bureau"}  # forged: ignored by the portal
    result = await cli("record_county_review", cid, "--json", json.dumps(review, ensure_ascii=False),
                       centers_portal_url=stack.url, centers_portal_token=token)
    assert result.status == 0, result
    assert "through the portal" in result.out and "phase city_evaluation" in result.out
    assert "ignored" in result.err
    [row] = await stack.audit("SELECT actor_name, actor_role, actor_user_id FROM audit_log "
                              "WHERE center_id = $1 AND action = 'record_county_review'", cid)
    assert dict(row) == {"actor_name": "李华", "actor_role": "county_department",
                         "actor_user_id": stack.users["dinghai"].user_id}
    conn = await stack.db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM staff_tokens WHERE token_hash = $1", token) == 0
    finally:
        await conn.close()

    # A role that may not act in this phase is refused, naming the rule and the field; nothing changes.
    entity = await token_for(stack, "contact")
    refused = await cli("record_city_evaluation", cid, "--json", json.dumps(f.city_evaluation()),
                        centers_portal_url=stack.url, centers_portal_token=entity)
    assert refused.status == 1 and "refused [D6] actor.role" in refused.out
    assert await phase_of(stack) == "city_evaluation"


async def test_portal_api_scopes_tokens_and_revocation_ends_them(portal):
    stack = portal
    cid = await open_center(stack)
    putuo = await token_for(stack, "putuo")
    async with httpx.AsyncClient(base_url=stack.url) as http:
        hidden = await http.get(f"/api/centers/{cid}", headers={"Authorization": f"Bearer {putuo}"})
        assert hidden.status_code == 404
        forged = await http.post(f"/api/centers/{cid}/actions/record_county_review", json=f.county_review(),
                                 headers={"Authorization": f"Bearer {putuo}"})
        assert forged.status_code == 404
        assert (await http.get("/api/whoami")).status_code == 401
        me = await http.get("/api/whoami", headers={"Authorization": f"Bearer {putuo}"})
        assert me.json()["user_id"] == stack.users["putuo"].user_id
    assert await phase_of(stack) == "county_review"

    conn = await stack.db()
    try:
        token_id = (await directory.list_tokens(conn, stack.users["putuo"].user_id))[0]["id"]
        assert await directory.revoke_token(conn, stack.users["putuo"].user_id, token_id)
    finally:
        await conn.close()
    result = await cli("record_county_review", cid, "--json", json.dumps(f.county_review()),
                       centers_portal_url=stack.url, centers_portal_token=putuo)
    assert result.status == 1 and "refused the token" in result.err
