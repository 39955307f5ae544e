"""The embedded staff directory (PostgreSQL, migration 005): users with argon2 password hashes,
and personal access tokens stored hashed and revocable.

A token is 32 random bytes; only its SHA-256 is stored (a slow hash adds nothing for a random
secret of that size, and the lookup must be by hash). Passwords get argon2id (argon2-cffi).
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import asyncpg
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from staff.errors import BadInput, Failed
from staff.identity import StaffUser

_HASHER = PasswordHasher()
# Verified when the username is unknown, so a miss costs as long as a wrong password (no user enumeration).
_DUMMY_HASH = _HASHER.hash("not a password of anyone")
_USER_COLUMNS = "user_id, username, display_name, role, county, center_ids, email, demo, disabled_at"
TOKEN_PREFIX = "zsc_"
TOKEN_DAYS = 90
INVITE_DAYS = 7
MIN_PASSWORD = 10


def _user(row: asyncpg.Record) -> StaffUser:
    data = dict(row)
    data["disabled"] = data.pop("disabled_at") is not None
    data["center_ids"] = tuple(data["center_ids"] or ())
    return StaffUser.model_validate(data)


def new_user_id() -> str:
    return f"u-{uuid.uuid4().hex[:16]}"


async def add_user(conn: asyncpg.Connection, user: StaffUser, password: str | None) -> StaffUser:
    """Add a user; the username is unique. A password shorter than MIN_PASSWORD is refused."""
    if password is not None and len(password) < MIN_PASSWORD:
        raise BadInput(f"password: at least {MIN_PASSWORD} characters")
    digest = _HASHER.hash(password) if password is not None else None
    try:
        await conn.execute(
            "INSERT INTO staff_users (user_id, username, display_name, role, county, center_ids, email, "
            "password_hash, demo) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            user.user_id, user.username, user.display_name, user.role.value,
            user.county.value if user.county else None, list(user.center_ids), user.email, digest, user.demo,
        )
    except asyncpg.UniqueViolationError:
        raise Failed(f"username: {user.username!r} is taken") from None
    return user


async def upsert_external(conn: asyncpg.Connection, user: StaffUser) -> StaffUser:
    """An OIDC user: created on first sign-in, role/county/centers refreshed from the claims after."""
    row = await conn.fetchrow(
        f"""INSERT INTO staff_users (user_id, username, display_name, role, county, center_ids, email)
            VALUES ($1, $2, $3, $4, $5, $6, $7)
            ON CONFLICT (user_id) DO UPDATE SET display_name = EXCLUDED.display_name, role = EXCLUDED.role,
                county = EXCLUDED.county, center_ids = EXCLUDED.center_ids, email = EXCLUDED.email
            RETURNING {_USER_COLUMNS}""",
        user.user_id, user.username, user.display_name, user.role.value,
        user.county.value if user.county else None, list(user.center_ids), user.email,
    )
    return _user(row)


async def get_user(conn: asyncpg.Connection, user_id: str) -> StaffUser | None:
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM staff_users WHERE user_id = $1", user_id)
    return _user(row) if row else None


async def get_user_by_email(conn: asyncpg.Connection, email: str) -> StaffUser | None:
    if not email:
        return None
    row = await conn.fetchrow(f"SELECT {_USER_COLUMNS} FROM staff_users WHERE lower(email) = lower($1) "
                              "ORDER BY created_at LIMIT 1", email)
    return _user(row) if row else None


async def list_users(conn: asyncpg.Connection) -> list[StaffUser]:
    rows = await conn.fetch(f"SELECT {_USER_COLUMNS} FROM staff_users ORDER BY role, county NULLS FIRST, username")
    return [_user(r) for r in rows]


async def disable_user(conn: asyncpg.Connection, username: str) -> StaffUser:
    """Disable a user and revoke their tokens; the row stays, so audit user ids still resolve."""
    async with conn.transaction():
        row = await conn.fetchrow(
            f"UPDATE staff_users SET disabled_at = coalesce(disabled_at, now()) WHERE username = $1 "
            f"RETURNING {_USER_COLUMNS}", username)
        if row is None:
            raise Failed(f"username: no user {username!r}")
        await conn.execute("UPDATE staff_tokens SET revoked_at = now() WHERE user_id = $1 AND revoked_at IS NULL",
                           row["user_id"])
    return _user(row)


async def check_password(conn: asyncpg.Connection, username: str, password: str) -> StaffUser | None:
    """The enabled user whose password this is, else None (same cost either way)."""
    row = await conn.fetchrow(
        f"SELECT {_USER_COLUMNS}, password_hash FROM staff_users WHERE username = $1", username)
    digest = row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH
    try:
        _HASHER.verify(digest, password)
    except (VerificationError, InvalidHashError):
        return None
    if row is None or row["password_hash"] is None or row["disabled_at"] is not None:
        return None
    if _HASHER.check_needs_rehash(digest):
        await conn.execute("UPDATE staff_users SET password_hash = $2 WHERE user_id = $1",
                           row["user_id"], _HASHER.hash(password))
    return _user({k: row[k] for k in _USER_COLUMNS.split(", ")})


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


async def create_token(conn: asyncpg.Connection, user_id: str, label: str, days: int = TOKEN_DAYS,
                       purpose: str = "api") -> str:
    """A new personal access token (or invitation); the clear text is returned once and never stored."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    await conn.execute(
        "INSERT INTO staff_tokens (user_id, label, token_hash, expires_at, purpose) VALUES ($1, $2, $3, $4, $5)",
        user_id, label[:100] or "token", _token_hash(token), datetime.now(timezone.utc) + timedelta(days=days),
        purpose)
    return token


async def invite(conn: asyncpg.Connection, user: StaffUser, center_id: str) -> tuple[StaffUser, str | None]:
    """A registered center's contact: a new user bound to the center with an invitation to set a
    password, or an existing user (same e-mail) bound to one more center (no invitation)."""
    async with conn.transaction():
        existing = await get_user_by_email(conn, user.email or "")
        if existing is not None:
            row = await conn.fetchrow(
                f"UPDATE staff_users SET center_ids = array_append(center_ids, $2) WHERE user_id = $1 "
                f"AND NOT ($2 = ANY(center_ids)) RETURNING {_USER_COLUMNS}", existing.user_id, center_id)
            return (_user(row) if row else existing), None
        await add_user(conn, user, None)
        return user, await create_token(conn, user.user_id, f"invitation for {center_id}", days=INVITE_DAYS,
                                        purpose="invite")


async def redeem_invite(conn: asyncpg.Connection, token: str, password: str) -> StaffUser | None:
    """Set the password of an invitation's user and use the invitation up; None if it is not valid."""
    if len(password) < MIN_PASSWORD:
        raise BadInput(f"password: at least {MIN_PASSWORD} characters")
    async with conn.transaction():
        user_id = await conn.fetchval(
            "UPDATE staff_tokens SET revoked_at = now(), last_used_at = now() WHERE token_hash = $1 "
            "AND purpose = 'invite' AND revoked_at IS NULL AND expires_at > now() RETURNING user_id",
            _token_hash(token))
        if user_id is None:
            return None
        await conn.execute("UPDATE staff_users SET password_hash = $2 WHERE user_id = $1 AND disabled_at IS NULL",
                           user_id, _HASHER.hash(password))
    return await get_user(conn, user_id)


async def invitation_user(conn: asyncpg.Connection, token: str) -> StaffUser | None:
    user_id = await conn.fetchval(
        "SELECT user_id FROM staff_tokens WHERE token_hash = $1 AND purpose = 'invite' AND revoked_at IS NULL "
        "AND expires_at > now()", _token_hash(token))
    return await get_user(conn, user_id) if user_id else None


async def user_for_token(conn: asyncpg.Connection, token: str) -> StaffUser | None:
    """The enabled user of an unrevoked, unexpired token, else None."""
    row = await conn.fetchrow(
        f"""UPDATE staff_tokens t SET last_used_at = now() FROM staff_users u
            WHERE t.token_hash = $1 AND t.purpose = 'api' AND t.user_id = u.user_id AND t.revoked_at IS NULL
              AND t.expires_at > now() AND u.disabled_at IS NULL
            RETURNING {", ".join("u." + c for c in _USER_COLUMNS.split(", "))}""",
        _token_hash(token))
    return _user(row) if row else None


async def list_tokens(conn: asyncpg.Connection, user_id: str) -> list[dict]:
    rows = await conn.fetch(
        "SELECT id, label, created_at, expires_at, last_used_at, revoked_at FROM staff_tokens "
        "WHERE user_id = $1 AND purpose = 'api' ORDER BY id DESC", user_id)
    return [dict(r) for r in rows]


async def revoke_token(conn: asyncpg.Connection, user_id: str, token_id: int) -> bool:
    """Revoke one of the user's own tokens; False if there is no such token of theirs."""
    done = await conn.execute(
        "UPDATE staff_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 AND user_id = $2 "
        "AND purpose = 'api'",
        token_id, user_id)
    return done.endswith(" 1")
