"""The portal's pages: sign-in, inbox, centers, center, action forms, public objection, reports, tokens."""

from __future__ import annotations

import io
import tempfile
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from models.actor import Actor
from models.directory import County, Field, Role
from models.phase import Phase
from portal import forms
from portal.app import Portal, act_as, bad_input_fields, new_request_id, scoped_record, scoped_state
from portal.security import csrf_ok, safe_next, start_session
from rules.catalog import ACTIONS
from staff import directory, reports, service
from staff.errors import BadInput, Failed, NotFound
from staff.identity import StaffUser
from staff.inbox import inbox
from staff.service import Refused

PUBLIC_ACTION = "file_objection"
DRAFT_LIMIT = 3000  # characters of form input kept in the cookie across an expired session


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


def register(app: FastAPI, portal: Portal) -> None:  # noqa: C901  one place that lists every page
    def to_login(request: Request) -> RedirectResponse:
        return RedirectResponse(f"/login?next={request.url.path}", status_code=303)

    def forbidden(request: Request, user: StaffUser | None, message: str, status: int = 403) -> HTMLResponse:
        return portal.page(request, "error.html", status, user=user, message=message)

    async def form_data(request: Request) -> dict[str, str]:
        form = await request.form()
        return {k: v for k, v in form.items() if isinstance(v, str)}

    # -- sign-in -------------------------------------------------------------------------------

    @app.get("/", include_in_schema=False)
    async def home() -> RedirectResponse:
        return RedirectResponse("/inbox", status_code=303)

    @app.get("/login", response_class=HTMLResponse)
    async def login_page(request: Request, next: str = "/inbox") -> HTMLResponse:
        return portal.page(request, "login.html", next=safe_next(next), oidc=portal.oidc is not None,
                           kept=bool(request.session.get("draft")))

    @app.post("/login", response_class=HTMLResponse)
    async def login(request: Request) -> Response:
        form = await form_data(request)
        target = safe_next(form.get("next"))
        if not csrf_ok(request.session, form.get("csrf_token")):
            return forbidden(request, None, "表单已失效，请重新登录 / the form expired: sign in again")
        username = form.get("username", "").strip()[:100]
        address, account = f"ip:{_client(request)}", f"user:{username.lower()}"
        wait = max(portal.login_limit.blocked(account), portal.address_limit.blocked(address))
        if wait:
            return portal.page(request, "login.html", 429, next=target, username=username, oidc=portal.oidc is not None,
                               error=f"登录失败次数过多，请 {wait // 60 + 1} 分钟后再试 / too many failed sign-ins: "
                                     f"try again in {wait // 60 + 1} min")
        conn = await portal.ctx.db()
        try:
            user = await directory.check_password(conn, username, form.get("password", ""))
        finally:
            await conn.close()
        if user is None:
            portal.login_limit.hit(account)
            portal.address_limit.hit(address)
            return portal.page(request, "login.html", 401, next=target, username=username, oidc=portal.oidc is not None,
                               error="用户名或密码错误 / wrong username or password")
        portal.login_limit.clear(account)
        start_session(request.session, user.user_id, "password")
        return RedirectResponse(target, status_code=303)

    @app.post("/logout")
    async def logout(request: Request) -> Response:
        form = await form_data(request)
        if not csrf_ok(request.session, form.get("csrf_token")):
            return forbidden(request, None, "CSRF token missing or wrong / 表单校验失败")
        request.session.clear()
        return RedirectResponse("/login", status_code=303)

    # -- inbox and lists ---------------------------------------------------------------------------

    @app.get("/inbox", response_class=HTMLResponse)
    async def inbox_page(request: Request) -> Response:
        user = await portal.user(request)
        if user is None:
            return to_login(request)
        found = await service.deadlines(portal.ctx, counties=user.counties, center_ids=user.centers)
        now = portal.ctx.clock()
        return portal.page(request, "inbox.html", user=user, rows=inbox(user, found.states, now),
                           failures=found.failures, now=now)

    @app.get("/centers", response_class=HTMLResponse)
    async def centers_page(request: Request, phase: str = "", county: str = "", field: str = "",
                           due_before: str = "") -> Response:
        user = await portal.user(request)
        if user is None:
            return to_login(request)
        filters = {"phase": phase, "county": county, "field": field, "due_before": due_before}
        try:
            chosen = {
                "phase": Phase(phase).value if phase else None,
                "county": County(county).value if county else None,
                "field": Field(field).value if field else None,
                "due_before": date.fromisoformat(due_before) if due_before else None,
            }
        except ValueError as err:
            return portal.page(request, "centers.html", 400, user=user, rows=[], filters=filters,
                               error=f"筛选条件无效 / invalid filter: {err}")
        listing = await service.list_centers(portal.ctx, **chosen, counties=user.counties, center_ids=user.centers)
        return portal.page(request, "centers.html", user=user, rows=listing.rows, filters=filters,
                           query=listing.query, parse=datetime.fromisoformat)

    # -- a center ---------------------------------------------------------------------------------

    @app.get("/centers/{center_id}", response_class=HTMLResponse)
    async def center_page(request: Request, center_id: str) -> Response:
        user = await portal.user(request)
        if user is None:
            return to_login(request)
        try:
            record = await scoped_record(portal, user, center_id)
        except NotFound:
            return forbidden(request, user, f"没有该中心或无权查看 / no such center in your scope: {center_id}", 404)
        offered = [a for a in user.actions_for(record.state.phase) if a != PUBLIC_ACTION]
        return portal.page(request, "center.html", user=user, r=record, s=record.state, offered=offered,
                           now=portal.ctx.clock(), timeline=_timeline(record))

    async def _offer(request: Request, center_id: str, name: str) -> tuple[StaffUser | None, Any, Response | None]:
        user = await portal.user(request)
        if user is None:
            return None, None, None
        if name not in ACTIONS or name == PUBLIC_ACTION:
            return user, None, forbidden(request, user, f"no such staff action: {name}", 404)
        try:
            state = await scoped_state(portal, user, center_id)
        except NotFound:
            return user, None, forbidden(request, user, f"没有该中心或无权查看 / no such center in your scope: {center_id}", 404)
        if name not in user.actions_for(state.phase):
            return user, state, forbidden(
                request, user, f"您的角色在当前阶段不能执行此操作 / {name} is not offered to "
                f"{user.role.value} in phase {state.phase.value}")
        return user, state, None

    def _form_page(request: Request, user: StaffUser, state: Any, name: str, status: int = 200,
                   values: dict[str, str] | None = None, errors: dict[str, str] | None = None,
                   refusal: Refused | None = None, request_id: str | None = None, kept: bool = False) -> HTMLResponse:
        spec = ACTIONS[name]
        values = dict(values or {})
        if name == "resolve_objection" and "objection_id" not in values:
            open_ids = [o.id for o in state.objections if o.status == "open"]
            values["objection_id"] = request.query_params.get("ref") or (open_ids[0] if open_ids else "")
        return portal.page(request, "action.html", status, user=user, s=state, name=name, spec=spec,
                           items=forms.build(spec.payload), values=values, errors=errors or {}, refusal=refusal,
                           request_id=request_id or new_request_id(), kept=kept)

    @app.get("/centers/{center_id}/actions/{name}", response_class=HTMLResponse)
    async def action_form(request: Request, center_id: str, name: str) -> Response:
        user, state, refused = await _offer(request, center_id, name)
        if user is None:
            return to_login(request)
        if refused:
            return refused
        draft = request.session.pop("draft", None)
        if isinstance(draft, dict) and draft.get("path") == request.url.path:
            values = draft.get("form") or {}
            return _form_page(request, user, state, name, values=values, request_id=values.get("request_id"), kept=True)
        return _form_page(request, user, state, name)

    @app.post("/centers/{center_id}/actions/{name}", response_class=HTMLResponse)
    async def action_submit(request: Request, center_id: str, name: str) -> Response:
        form = await form_data(request)
        if await portal.user(request) is None:  # expired: keep the input, sign in, show it again
            kept = {k: v for k, v in form.items() if k not in ("csrf_token", "actor") and not k.startswith("actor.")}
            if sum(len(k) + len(v) for k, v in kept.items()) <= DRAFT_LIMIT:
                request.session["draft"] = {"path": request.url.path, "form": kept}
            return to_login(request)
        if not csrf_ok(request.session, form.get("csrf_token")):
            return forbidden(request, await portal.user(request), "CSRF token missing or wrong / 表单校验失败")
        request_id = (form.get("request_id") or "").strip()[:120] or new_request_id()
        user, state, refused = await _offer(request, center_id, name)
        answered = state.answered.get(request_id) if state is not None else None
        if answered is not None and answered.action == name and user is not None:
            # Sent before (a double click, a browser resubmit): the first answer, nothing changes.
            duplicate = answered.model_copy(update={"duplicate": True})
            return portal.page(request, "done.html", user=user, s=state, name=name, result=duplicate)
        if refused:
            return refused
        assert user is not None
        spec = ACTIONS[name]
        payload = forms.parse(spec.payload, form)
        try:
            acted = await act_as(portal, user.actor(), center_id, name, payload, request_id)
        except Refused as refusal:
            return _form_page(request, user, state, name, 422, values=form, request_id=request_id,
                              errors={refusal.field: f"[{refusal.rule_id}] {refusal.reason}"}, refusal=refusal)
        except BadInput as err:
            return _form_page(request, user, state, name, 422, values=form, request_id=request_id,
                              errors=bad_input_fields(err))
        return portal.page(request, "done.html", user=user, s=state, name=name, result=acted.result)

    # -- the public objection form (D7): no sign-in --------------------------------------------------

    async def _noticed(center_id: str) -> Any:
        try:
            state = await service.center_state(portal.ctx, center_id)
        except (NotFound, Failed):
            return None
        return state if state.phase is Phase.PUBLIC_NOTICE else None

    @app.get("/public/centers/{center_id}/objection", response_class=HTMLResponse)
    async def objection_form(request: Request, center_id: str) -> Response:
        state = await _noticed(center_id)
        if state is None:
            return forbidden(request, None, "该中心不在公示期 / this center is not under public notice", 404)
        return portal.page(request, "objection.html", s=state, values={}, errors={}, request_id=new_request_id())

    @app.post("/public/centers/{center_id}/objection", response_class=HTMLResponse)
    async def objection_submit(request: Request, center_id: str) -> Response:
        form = await form_data(request)
        if not csrf_ok(request.session, form.get("csrf_token")):
            return forbidden(request, None, "CSRF token missing or wrong / 表单校验失败")
        state = await _noticed(center_id)
        if state is None:
            return forbidden(request, None, "该中心不在公示期 / this center is not under public notice", 404)
        request_id = (form.get("request_id") or "").strip()[:120] or new_request_id()
        values = {k: form.get(k, "").strip() for k in ("objector", "contact", "grounds")}
        missing = {k: "必填 / required" for k, v in values.items() if not v}
        if missing:
            return portal.page(request, "objection.html", 422, s=state, values=values, errors=missing,
                               request_id=request_id)
        key = f"ip:{_client(request)}"
        wait = portal.public_limit.blocked(key)
        if wait:
            return portal.page(request, "objection.html", 429, s=state, values=values, request_id=request_id,
                               errors={"grounds": f"提交过于频繁，请 {wait // 60 + 1} 分钟后再试 / too many objections "
                                                  f"from this address: try again in {wait // 60 + 1} min"})
        portal.public_limit.hit(key)
        try:
            actor = Actor(name=values["objector"][:100], role=Role.PUBLIC)
            acted = await act_as(portal, actor, center_id, PUBLIC_ACTION, values, request_id)
        except Refused as refusal:
            return portal.page(request, "objection.html", 422, s=state, values=values, request_id=request_id,
                               errors={refusal.field: f"[{refusal.rule_id}] {refusal.reason}"})
        except (BadInput, ValueError) as err:
            errors = bad_input_fields(err) if isinstance(err, BadInput) else {"objector": str(err)}
            return portal.page(request, "objection.html", 422, s=state, values=values, request_id=request_id,
                               errors=errors)
        return portal.page(request, "objection_done.html", s=state, result=acted.result)

    # -- reports (the bureau) ----------------------------------------------------------------------

    @app.get("/reports", response_class=HTMLResponse)
    async def reports_page(request: Request) -> Response:
        user = await portal.user(request)
        if user is None:
            return to_login(request)
        if user.role is not Role.CITY_BUREAU:
            return forbidden(request, user, "报表仅供市科技局 / reports are for the city bureau")
        return portal.page(request, "reports.html", user=user, names=list(reports.REPORTS))

    @app.get("/reports/{name}.{fmt}")
    async def report_download(request: Request, name: str, fmt: str) -> Response:
        user = await portal.user(request)
        if user is None:
            return to_login(request)
        if user.role is not Role.CITY_BUREAU:
            return forbidden(request, user, "报表仅供市科技局 / reports are for the city bureau")
        if name not in reports.REPORTS or fmt not in ("csv", "xlsx"):
            return forbidden(request, user, "no such report", 404)
        report = await service.report(portal.ctx, name)
        now = datetime.now(timezone.utc)
        filename = f"{name}-{now:%Y%m%d}.{fmt}"  # from fixed parts only: nothing a user typed
        if fmt == "csv":
            buffer = io.StringIO()
            reports.write_csv(report, buffer)
            body, kind = buffer.getvalue().encode("utf-8-sig"), "text/csv; charset=utf-8"
        else:
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / filename
                reports.write_xlsx(report, path, now)
                body = path.read_bytes()
            kind = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return Response(body, media_type=kind, headers={"Content-Disposition": f'attachment; filename="{filename}"'})

    # -- personal access tokens (for the CLI) -------------------------------------------------------

    @app.get("/tokens", response_class=HTMLResponse)
    async def tokens_page(request: Request) -> Response:
        user = await portal.user(request)
        if user is None:
            return to_login(request)
        conn = await portal.ctx.db()
        try:
            tokens = await directory.list_tokens(conn, user.user_id)
        finally:
            await conn.close()
        return portal.page(request, "tokens.html", user=user, tokens=tokens, new_token=None)

    @app.post("/tokens", response_class=HTMLResponse)
    async def token_create(request: Request) -> Response:
        user = await portal.user(request)
        if user is None:
            return to_login(request)
        form = await form_data(request)
        if not csrf_ok(request.session, form.get("csrf_token")):
            return forbidden(request, user, "CSRF token missing or wrong / 表单校验失败")
        conn = await portal.ctx.db()
        try:
            token = await directory.create_token(conn, user.user_id, form.get("label", "").strip() or "CLI")
            tokens = await directory.list_tokens(conn, user.user_id)
        finally:
            await conn.close()
        return portal.page(request, "tokens.html", user=user, tokens=tokens, new_token=token)

    @app.post("/tokens/{token_id}/revoke")
    async def token_revoke(request: Request, token_id: int) -> Response:
        user = await portal.user(request)
        if user is None:
            return to_login(request)
        form = await form_data(request)
        if not csrf_ok(request.session, form.get("csrf_token")):
            return forbidden(request, user, "CSRF token missing or wrong / 表单校验失败")
        conn = await portal.ctx.db()
        try:
            await directory.revoke_token(conn, user.user_id, token_id)
        finally:
            await conn.close()
        return RedirectResponse("/tokens", status_code=303)


def _timeline(record: service.CenterRecord) -> list[dict[str, Any]]:
    """Past steps (the audit trail's accepted and automatic rows) and planned ones (the agenda)."""
    events: list[dict[str, Any]] = []
    for a in record.audit:
        if a.outcome == "rejected" or a.action.startswith("reminder"):
            continue
        events.append({"at": a.at, "what": a.summary, "phase": a.phase_after, "past": True, "rule": ",".join(a.rule_ids)})
    for d in record.state.agenda:
        if not d.internal:
            events.append({"at": d.due_at, "what": f"{d.title_zh} / {d.title_en}", "phase": None, "past": False,
                           "rule": d.rule_id, "overdue": d.overdue})
    events.sort(key=lambda e: e["at"])
    return events
