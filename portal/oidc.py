"""Sign-in through OpenID Connect (the bureau's identity provider), with Authlib.

Role, county and center bindings come either from the ID token's claims (OIDC_IDENTITY_FROM=claims,
claim names configurable) or from the staff directory, matched by e-mail (=directory). The stable
user id is derived from the provider's subject, so the audit log names the same person across
sign-ins.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError

from portal.security import safe_next, start_session
from staff import directory
from staff.identity import StaffUser
from workers.settings import Settings

SAFE_SUB = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


@dataclass(frozen=True)
class OidcConfig:
    issuer: str
    client_id: str
    client_secret: str
    scopes: str = "openid profile email"
    identity_from: str = "claims"  # or "directory"
    role_claim: str = "zs_role"
    county_claim: str = "zs_county"
    centers_claim: str = "zs_centers"

    @classmethod
    def from_settings(cls, settings: Settings) -> "OidcConfig | None":
        if not settings.oidc_issuer or not settings.oidc_client_id:
            return None
        secret = settings.oidc_client_secret.get_secret_value() if settings.oidc_client_secret else ""
        return cls(settings.oidc_issuer, settings.oidc_client_id, secret, settings.oidc_scopes,
                   settings.oidc_identity_from, settings.oidc_role_claim, settings.oidc_county_claim,
                   settings.oidc_centers_claim)


def user_id_for(issuer: str, sub: str) -> str:
    """Stable per provider and subject; readable when the subject is plain."""
    if SAFE_SUB.match(sub):
        return f"oidc-{sub}"
    return "oidc-" + hashlib.sha256(f"{issuer}|{sub}".encode()).hexdigest()[:32]


def user_from_claims(config: OidcConfig, claims: dict[str, Any]) -> StaffUser:
    """The claims as a staff user; ValueError names the claim that is missing or wrong."""
    sub = str(claims.get("sub") or "")
    if not sub:
        raise ValueError("sub: the ID token has no subject")
    centers = claims.get(config.centers_claim) or []
    if isinstance(centers, str):
        centers = [c for c in re.split(r"[,\s]+", centers) if c]
    username = str(claims.get("preferred_username") or claims.get("email") or sub)[:100]
    try:
        return StaffUser(user_id=user_id_for(config.issuer, sub), username=username,
                         display_name=str(claims.get("name") or username)[:100],
                         role=claims.get(config.role_claim), county=claims.get(config.county_claim) or None,
                         center_ids=tuple(str(c) for c in centers), email=claims.get("email"))
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "claims"
        claim = {"role": config.role_claim, "county": config.county_claim}.get(where, where)
        raise ValueError(f"{claim}: {first['msg'].removeprefix('Value error, ')}") from None


def register(app: FastAPI, portal: Any, config: OidcConfig) -> None:
    oauth = OAuth()
    oauth.register(
        name="bureau", client_id=config.client_id, client_secret=config.client_secret,
        server_metadata_url=f"{config.issuer.rstrip('/')}/.well-known/openid-configuration",
        client_kwargs={"scope": config.scopes, "code_challenge_method": "S256"},
    )

    def refuse(request: Request, message: str) -> Response:
        return portal.page(request, "login.html", 403, next="/inbox", oidc=True,
                           error=f"统一身份认证登录失败 / sign-in through the identity provider failed: {message}")

    @app.get("/oidc/login")
    async def oidc_login(request: Request, next: str = "/inbox") -> Response:
        request.session["oidc_next"] = safe_next(next)
        return await oauth.bureau.authorize_redirect(request, str(request.url_for("oidc_callback")))

    @app.get("/oidc/callback", name="oidc_callback")
    async def oidc_callback(request: Request) -> Response:
        try:
            token = await oauth.bureau.authorize_access_token(request)
        except OAuthError as err:
            return refuse(request, err.description or err.error)
        claims = dict(token.get("userinfo") or {})
        conn = await portal.ctx.db()
        try:
            if config.identity_from == "directory":
                user = await directory.get_user_by_email(conn, str(claims.get("email") or ""))
                if user is None or user.disabled:
                    return refuse(request, "email: no enabled staff directory entry for this e-mail")
            else:
                try:
                    user = await directory.upsert_external(conn, user_from_claims(config, claims))
                except ValueError as err:
                    return refuse(request, str(err))
                if user.disabled:
                    return refuse(request, "this user is disabled in the staff directory")
        finally:
            await conn.close()
        target = safe_next(request.session.get("oidc_next"))
        start_session(request.session, user.user_id, "oidc")
        return RedirectResponse(target, status_code=303)
