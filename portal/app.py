"""The staff portal: FastAPI + Jinja2, server-rendered, over the staff layer (staff/).

Reads come from the workflows (query) and PostgreSQL; writes go only through the workflow's
updates (staff.service.act). The actor of every action is the signed-in user (staff.identity),
never a form field; scoping (who sees which center) is checked on every center URL.
"""

from __future__ import annotations

import secrets
import uuid
from pathlib import Path
from typing import Any

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.middleware.sessions import SessionMiddleware

from models.actor import Actor
from models.directory import County, Field, Role
from models.phase import Phase
from portal import labels
from portal.security import RateLimit, ensure_csrf, session_user_id
from rules.catalog import ACTIONS
from staff import directory, service
from staff.context import StaffContext
from staff.errors import BadInput, NotFound
from staff.identity import StaffUser
from staff.text import due_text, local_text

log = structlog.get_logger(__name__)
HERE = Path(__file__).parent


class Portal:
    """Everything a request needs: the staff context, templates, rate limits."""

    def __init__(self, ctx: StaffContext, *, oidc: Any = None) -> None:
        self.ctx = ctx
        self.login_limit = RateLimit(5, 15 * 60)  # failed sign-ins per username
        self.address_limit = RateLimit(20, 15 * 60)  # failed sign-ins per client address
        self.public_limit = RateLimit(5, 3600)
        self.oidc = oidc
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(
            labels=labels, due_text=due_text, local_text=local_text, ACTIONS=ACTIONS, Phase=Phase,
            County=County, Field=Field, Role=Role,
        )

    async def user(self, request: Request) -> StaffUser | None:
        uid = session_user_id(request.session)
        if uid is None:
            return None
        conn = await self.ctx.db()
        try:
            user = await directory.get_user(conn, uid)
        finally:
            await conn.close()
        return None if user is None or user.disabled else user

    def page(self, request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
        context.setdefault("user", None)
        context["csrf"] = ensure_csrf(request.session)
        return self.templates.TemplateResponse(request, template, context, status_code=status)


def create_app(ctx: StaffContext, secret_key: str | None = None, *, session_minutes: float = 60,
               cookie_secure: bool = False, oidc: Any = None) -> FastAPI:
    portal = Portal(ctx, oidc=oidc)
    app = FastAPI(title="舟山市产业创新中心 staff portal", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(SessionMiddleware, secret_key=secret_key or secrets.token_urlsafe(32),
                       session_cookie="zsc_session", max_age=max(1, int(session_minutes * 60)), same_site="lax",
                       https_only=cookie_secure)
    app.state.portal = portal
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.middleware("http")
    async def headers(request: Request, call_next: Any) -> Response:
        response = await call_next(request)
        response.headers.setdefault("Content-Security-Policy",
                                    "default-src 'self'; script-src 'self'; style-src 'self'; frame-ancestors 'none'")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cache-Control", "no-store")
        return response

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> Response:
        """Liveness for the container's health check: the process answers HTTP."""
        return Response("ok", media_type="text/plain")

    from portal import routes_api, routes_pages, routes_register

    routes_pages.register(app, portal)
    routes_register.register(app, portal)
    routes_api.register(app, portal)
    if oidc is not None:
        from portal import oidc as oidc_routes

        oidc_routes.register(app, portal, oidc)
    return app


# -- helpers shared by the page and API routes ------------------------------------------------------


async def scoped_record(portal: Portal, user: StaffUser, center_id: str) -> service.CenterRecord:
    """The center's record if the user may see it; NotFound otherwise (no hint that it exists)."""
    record = await service.center_record(portal.ctx, center_id)
    if not user.sees(record.state.center_id, record.state.profile.county.value):
        raise NotFound(f"center {center_id}: not found")
    return record


async def scoped_state(portal: Portal, user: StaffUser, center_id: str):
    state = await service.center_state(portal.ctx, center_id)
    if not user.sees(state.center_id, state.profile.county.value):
        raise NotFound(f"center {center_id}: not found")
    return state


async def act_as(portal: Portal, user_actor: Actor, center_id: str, name: str, payload: dict[str, Any],
                 request_id: str) -> service.Acted:
    """Send the action with the actor from the identity; any actor in the payload is replaced."""
    data = {k: v for k, v in payload.items() if k not in ("actor", "request_id")}
    data["actor"] = user_actor.model_dump(mode="json", exclude_none=True)
    data["request_id"] = request_id
    return await service.act(portal.ctx, center_id, name, data, timeout=60)


def field_of(message: str) -> tuple[str, str]:
    """'invalid X payload: a.b: msg' -> ('a.b', 'msg') for showing a message beside its field."""
    text = message.split(": ", 1)[1] if message.startswith("invalid ") else message
    where, _, what = text.partition(": ")
    return where, what or text


def bad_input_fields(err: BadInput) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in err.message.splitlines():
        where, what = field_of(line)
        out.setdefault(where, what)
    return out


def new_request_id() -> str:
    return f"portal-{uuid.uuid4().hex}"

