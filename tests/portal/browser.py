"""Helpers for the portal's browser tests: sign in, fill a generated form from a payload, wait."""

from __future__ import annotations

import asyncio
from typing import Any

from tests.portal.conftest import PASSWORD

ENVELOPE = ("actor", "request_id")


def dotted(payload: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A payload as the form's dotted field names and the text a person would type or choose."""
    out: dict[str, str] = {}
    for key, value in payload.items():
        if not prefix and key in ENVELOPE:
            continue
        name = f"{prefix}{key}"
        if isinstance(value, dict) and key != "partner_agreements":
            out.update(dotted(value, name + "."))
        elif isinstance(value, bool):
            out[name] = "true" if value else "false"
        elif value == [] or value == {}:
            continue  # an empty list or map: the field stays empty
        elif isinstance(value, list) and all(isinstance(v, dict) for v in value):
            for i, row in enumerate(value):
                out.update(dotted(row, f"{name}.{i}."))
        elif isinstance(value, list):
            out[name] = "\n".join(map(str, value))
        elif isinstance(value, dict):
            out[name] = "\n".join(f"{k} = {v}" for k, v in value.items())
        elif value is not None:
            out[name] = str(value)
    return out


async def sign_in(page: Any, url: str, username: str, password: str = PASSWORD, next_path: str = "/inbox") -> None:
    await page.goto(f"{url}/login?next={next_path}")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("form[action='/login'] button")
    await page.wait_for_load_state()


async def fill(page: Any, values: dict[str, str]) -> None:
    for name, value in values.items():
        field = page.locator(f"[name='{name}']")
        tag = await field.evaluate("e => e.tagName")
        if tag == "SELECT":
            await field.select_option(value)
        else:
            await field.fill(value)


async def submit(page: Any) -> None:
    async with page.expect_navigation():
        await page.click("[data-testid=submit]")


async def eventually(check: Any, timeout: float = 30.0, interval: float = 0.25) -> Any:
    """Poll an async check until it returns something truthy."""
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        result = await check()
        if result:
            return result
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(interval)
