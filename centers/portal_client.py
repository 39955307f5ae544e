"""`centers <action>` through the staff portal's JSON API (CENTERS_PORTAL_URL + CENTERS_PORTAL_TOKEN).

The portal fills the actor from the token's user, so an actor in the payload or the flags is
ignored; the CLI then acts exactly as that person would on the web.
"""

from __future__ import annotations

from typing import Any

import httpx

from centers.errors import BadInput, Failed


async def act(base_url: str, token: str | None, center_id: str, name: str, data: dict[str, Any],
              timeout: float) -> dict[str, Any]:
    """POST the action; returns the portal's answer, or raises Refused-like Failed / BadInput."""
    if not token:
        raise BadInput("CENTERS_PORTAL_URL is set but CENTERS_PORTAL_TOKEN is not: create a token on the "
                       "portal's token page (/tokens)")
    url = f"{base_url.rstrip('/')}/api/centers/{center_id}/actions/{name}"
    payload = {k: v for k, v in data.items() if k != "actor"}
    try:
        async with httpx.AsyncClient(timeout=timeout) as client:
            response = await client.post(url, json=payload, headers={"Authorization": f"Bearer {token}"})
    except httpx.HTTPError as err:
        raise Failed(f"cannot reach the portal at {base_url}: {err}") from None
    try:
        body = response.json()
    except ValueError:
        body = {"error": response.text[:200]}
    if response.status_code == 401:
        raise Failed(f"the portal refused the token (revoked, expired or unknown): {body.get('error')}")
    if response.status_code in (403, 422) and isinstance(body.get("refused"), dict):
        return body
    if response.status_code == 400:
        raise BadInput(str(body.get("error")))
    if response.status_code >= 300:
        raise Failed(f"portal answered {response.status_code}: {body.get('error')}")
    return body
