"""Register a center (the bureau, or a county clerk for their own county), and the invitation its
contacts get: an outbox mail with a one-time link to set a password for an account bound to it."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from db.outcomes import record_batch
from models.directory import Role
from models.effects import Email, OutcomeBatch
from models.profile import CenterProfile
from portal import forms
from portal.app import Portal, bad_input_fields
from portal.security import csrf_ok, start_session
from staff import directory, service
from staff.errors import BadInput, Failed
from staff.identity import StaffUser
from staff.payloads import validate


def invitation(center: CenterProfile, user: StaffUser, link: str) -> str:
    return (f"{user.display_name}，您好：\n\n{center.proposed_name}（{center.center_id}）已在舟山市产业创新中心管理平台登记，"
            f"您是该中心的联系人。请在 7 天内打开以下链接设置密码并登录：\n{link}\n\n"
            f"Hello {user.display_name},\n\n{center.proposed_name} ({center.center_id}) is registered on the Zhoushan "
            f"innovation centers portal and you are its contact. Open this link within 7 days to set your "
            f"password and sign in:\n{link}\n")


def register(app: FastAPI, portal: Portal) -> None:
    def form_page(request: Request, user: StaffUser, status: int = 200, values: dict | None = None,
                  errors: dict | None = None) -> HTMLResponse:
        values = dict(values or {})
        if user.county and "county" not in values:
            values["county"] = user.county.value
        return portal.page(request, "register.html", status, user=user, items=forms.build(CenterProfile),
                           values=values, errors=errors or {})

    async def staff_user(request: Request) -> StaffUser | None:
        user = await portal.user(request)
        return user if user and user.role in (Role.CITY_BUREAU, Role.COUNTY_DEPARTMENT) else None

    @app.get("/register", response_class=HTMLResponse)
    async def register_form(request: Request) -> Response:
        user = await staff_user(request)
        if user is None:
            return RedirectResponse("/login?next=/register", status_code=303)
        return form_page(request, user)

    @app.post("/register", response_class=HTMLResponse)
    async def register_submit(request: Request) -> Response:
        user = await staff_user(request)
        if user is None:
            return RedirectResponse("/login?next=/register", status_code=303)
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not csrf_ok(request.session, form.get("csrf_token")):
            return portal.page(request, "error.html", 403, user=user, message="CSRF token missing or wrong / 表单校验失败")
        try:
            profile = validate(CenterProfile, forms.parse(CenterProfile, form), "profile")
        except BadInput as err:
            return form_page(request, user, 422, form, bad_input_fields(err))
        assert isinstance(profile, CenterProfile)
        if not user.may_register(profile.county):
            return form_page(request, user, 403, form, {"county": "县区科技部门只能登记本县区的中心 / a county "
                                                                  "department registers centers of its own county only"})
        try:
            await service.start(portal.ctx, profile)
        except Failed as err:
            return form_page(request, user, 409, form, {"center_id": err.message})
        base = str(request.base_url).rstrip("/")
        invited: list[str] = []
        conn = await portal.ctx.db()
        try:
            emails = []
            for contact in profile.contacts:
                account = StaffUser(user_id=directory.new_user_id(), username=str(contact.email),
                                    display_name=contact.name, role=Role.IMPLEMENTING_ENTITY,
                                    center_ids=(profile.center_id,), email=str(contact.email))
                account, token = await directory.invite(conn, account, profile.center_id)
                invited.append(account.username)
                if token:
                    emails.append(Email(key=f"{profile.center_id}:invite:{account.user_id}", center_id=profile.center_id,
                                        to=[str(contact.email)], subject="邀请设置密码 / Set your portal password",
                                        body=invitation(profile, account, f"{base}/invite/{token}"), rule_id=None))
            await record_batch(conn, OutcomeBatch(center_id=profile.center_id, emails=emails))
        finally:
            await conn.close()
        return RedirectResponse(f"/centers/{profile.center_id}", status_code=303)

    @app.get("/invite/{token}", response_class=HTMLResponse)
    async def invite_form(request: Request, token: str) -> Response:
        conn = await portal.ctx.db()
        try:
            invited = await directory.invitation_user(conn, token)
        finally:
            await conn.close()
        if invited is None:
            return portal.page(request, "error.html", 404, message="邀请链接无效或已过期 / this invitation is used or expired")
        return portal.page(request, "invite.html", invited=invited, token=token)

    @app.post("/invite/{token}", response_class=HTMLResponse)
    async def invite_accept(request: Request, token: str) -> Response:
        form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
        if not csrf_ok(request.session, form.get("csrf_token")):
            return portal.page(request, "error.html", 403, message="CSRF token missing or wrong / 表单校验失败")
        conn = await portal.ctx.db()
        try:
            invited = await directory.invitation_user(conn, token)
            if invited is None:
                return portal.page(request, "error.html", 404, message="邀请链接无效或已过期 / this invitation is used or expired")
            if form.get("password", "") != form.get("again", ""):
                return portal.page(request, "invite.html", 422, invited=invited, token=token,
                                   error="两次输入的密码不一致 / the two passwords differ")
            try:
                user = await directory.redeem_invite(conn, token, form.get("password", ""))
            except BadInput as err:
                return portal.page(request, "invite.html", 422, invited=invited, token=token, error=err.message)
        finally:
            await conn.close()
        if user is None:
            return portal.page(request, "error.html", 404, message="邀请链接无效或已过期 / this invitation is used or expired")
        start_session(request.session, user.user_id, "invite")
        return RedirectResponse("/inbox", status_code=303)
