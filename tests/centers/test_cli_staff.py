"""`centers staff add/list/disable`: the embedded staff directory (issue 10, migration 005).

Passwords are kept only as argon2id hashes; a disabled user can no longer sign in and their
personal access tokens stop working; tokens are stored as hashes and can be revoked.
"""

from __future__ import annotations

import io
import sys
import uuid

import asyncpg
import pytest

from staff import directory
from tests.centers.cli_support import cli


@pytest.fixture
def password_on_stdin(monkeypatch: pytest.MonkeyPatch):
    def give(password: str) -> None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(password + "\n"))
    return give


async def test_staff_add_list_disable(database_url, password_on_stdin):
    name = f"clerk{uuid.uuid4().hex[:6]}"
    password_on_stdin("a long enough password")
    added = await cli("staff", "add", name, "--name", "李华", "--role", "county_department", "--county", "dinghai",
                      "--password-stdin", database_url=database_url)
    assert added.status == 0, added
    listed = await cli("staff", "list", database_url=database_url)
    assert name in listed.out and "county_department" in listed.out and "dinghai" in listed.out

    conn = await asyncpg.connect(database_url)
    try:
        stored = await conn.fetchval("SELECT password_hash FROM staff_users WHERE username = $1", name)
        assert stored.startswith("$argon2id$") and "a long enough password" not in stored
        user = await directory.check_password(conn, name, "a long enough password")
        assert user is not None and user.county.value == "dinghai"
        assert await directory.check_password(conn, name, "a wrong password") is None
        token = await directory.create_token(conn, user.user_id, "cli")
        assert await conn.fetchval("SELECT count(*) FROM staff_tokens WHERE token_hash = $1", token) == 0
        assert (await directory.user_for_token(conn, token)).user_id == user.user_id

        disabled = await cli("staff", "disable", name, database_url=database_url)
        assert disabled.status == 0 and "disabled" in disabled.out
        assert await directory.check_password(conn, name, "a long enough password") is None
        assert await directory.user_for_token(conn, token) is None
    finally:
        await conn.close()
    assert "disabled" in (await cli("staff", "list", database_url=database_url)).out


async def test_staff_add_refuses_bad_input(database_url, password_on_stdin):
    name = f"u{uuid.uuid4().hex[:6]}"
    password_on_stdin("a long enough password")
    no_county = await cli("staff", "add", name, "--name", "x", "--role", "county_department", "--password-stdin",
                          database_url=database_url)
    assert no_county.status == 2 and "county" in no_county.err
    no_center = await cli("staff", "add", name, "--name", "x", "--role", "implementing_entity", "--password-stdin",
                          database_url=database_url)
    assert no_center.status == 2 and "--center" in no_center.err
    password_on_stdin("short")
    too_short = await cli("staff", "add", name, "--name", "x", "--role", "city_bureau", "--password-stdin",
                          database_url=database_url)
    assert too_short.status == 2 and "password" in too_short.err
    password_on_stdin("a long enough password")
    assert (await cli("staff", "add", name, "--name", "x", "--role", "city_bureau", "--password-stdin",
                      database_url=database_url)).status == 0
    password_on_stdin("a long enough password")
    again = await cli("staff", "add", name, "--name", "y", "--role", "city_bureau", "--password-stdin",
                      database_url=database_url)
    assert again.status == 1 and "taken" in again.err
    missing = await cli("staff", "disable", f"nobody{uuid.uuid4().hex[:6]}", database_url=database_url)
    assert missing.status == 1 and "no user" in missing.err


async def test_token_revocation_is_per_owner(database_url):
    conn = await asyncpg.connect(database_url)
    try:
        users = []
        for _ in range(2):
            user = directory.StaffUser(user_id=directory.new_user_id(), username=f"t{uuid.uuid4().hex[:8]}",
                                       display_name="x", role="city_bureau")
            users.append(await directory.add_user(conn, user, None))
        token = await directory.create_token(conn, users[0].user_id, "cli")
        token_id = (await directory.list_tokens(conn, users[0].user_id))[0]["id"]
        assert not await directory.revoke_token(conn, users[1].user_id, token_id)  # not theirs
        assert await directory.user_for_token(conn, token) is not None
        assert await directory.revoke_token(conn, users[0].user_id, token_id)
        assert await directory.user_for_token(conn, token) is None
        assert await directory.check_password(conn, users[0].username, "") is None  # OIDC-only user: no password
    finally:
        await conn.close()
