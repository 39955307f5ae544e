"""The portal's JSON API for the `centers` CLI (CENTERS_PORTAL_URL): a personal access token in
`Authorization: Bearer ...`; no cookies, so no CSRF. The actor is the token's user."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from portal.app import Portal, act_as, new_request_id, scoped_state
from rules.catalog import ACTIONS
from staff import directory
from staff.errors import BadInput, NotFound, StaffError
from staff.identity import StaffUser
from staff.service import NoAnswer, Refused


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"error": message, **extra}, status_code=status)


def register(app: FastAPI, portal: Portal) -> None:
    async def token_user(request: Request) -> StaffUser | None:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        conn = await portal.ctx.db()
        try:
            return await directory.user_for_token(conn, token.strip())
        finally:
            await conn.close()

    @app.get("/api/whoami")
    async def whoami(request: Request) -> JSONResponse:
        user = await token_user(request)
        if user is None:
            return _error(401, "a valid personal access token is required (Authorization: Bearer ...)")
        return JSONResponse(user.model_dump(mode="json"))

    @app.get("/api/centers/{center_id}")
    async def center(request: Request, center_id: str) -> JSONResponse:
        user = await token_user(request)
        if user is None:
            return _error(401, "a valid personal access token is required (Authorization: Bearer ...)")
        try:
            state = await scoped_state(portal, user, center_id)
        except NotFound:
            return _error(404, f"center {center_id}: not found in your scope")
        return JSONResponse(state.model_dump(mode="json"))

    @app.post("/api/centers/{center_id}/actions/{name}")
    async def act(request: Request, center_id: str, name: str) -> JSONResponse:
        user = await token_user(request)
        if user is None:
            return _error(401, "a valid personal access token is required (Authorization: Bearer ...)")
        if name not in ACTIONS:
            return _error(404, f"no action {name!r}")
        try:
            payload = await request.json()
        except ValueError:
            return _error(400, "the body must be the action's JSON payload")
        if not isinstance(payload, dict):
            return _error(400, "the body must be a JSON object")
        try:
            state = await scoped_state(portal, user, center_id)
        except NotFound:
            return _error(404, f"center {center_id}: not found in your scope")
        spec = ACTIONS[name]
        if name not in user.actions_for(state.phase):
            rule = spec.rule_ids[0] if spec.rule_ids else "INTERFACE"
            message = f"{name} is not open to {user.role.value} in phase {state.phase.value}"
            return _error(403, message, refused={"rule_id": rule, "field": "actor.role", "message": message})
        request_id = payload.get("request_id") if isinstance(payload.get("request_id"), str) else new_request_id()
        try:
            acted = await act_as(portal, user.actor(), center_id, name, payload, request_id)
        except Refused as refusal:
            return _error(422, str(refusal), refused={"rule_id": refusal.rule_id, "field": refusal.field,
                                                       "message": refusal.reason})
        except BadInput as err:
            return _error(400, err.message)
        except NoAnswer as err:
            return _error(504, err.message)
        except StaffError as err:
            return _error(502, err.message)
        return JSONResponse({"request_id": request_id, "result": acted.raw | {"state": None}})
