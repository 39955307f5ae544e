"""`make run` seeds demo accounts (one per role and one per county, marked demo) and prints them,
with the portal's address, in its banner."""

from __future__ import annotations

import asyncpg

from models.directory import County, Role
from staff import directory
from staff.demo import DEMO_PASSWORD, seed
from workers.devstack import _banner
from workers.settings import Settings


async def test_portal_demo_accounts_seeded_once_and_shown_in_the_banner(portal_db):
    url, _ = portal_db
    conn = await asyncpg.connect(url)
    try:
        demo = await seed(conn)
        await seed(conn)  # a second `make run` adds nothing and changes nothing
        users = await directory.list_users(conn)
        assert len(users) == len(demo) == 2 + len(County)
        assert all(u.demo for u in users)
        assert {u.role for u in users} == {Role.CITY_BUREAU, Role.COUNTY_DEPARTMENT, Role.IMPLEMENTING_ENTITY}
        assert {u.county for u in users if u.county} == set(County)
        assert await directory.check_password(conn, "putuo", DEMO_PASSWORD) is not None
    finally:
        await conn.close()
    banner = _banner(Settings(), "http://127.0.0.1:8400", demo)
    assert "Staff portal:  http://127.0.0.1:8400" in banner and "DEMO ONLY" in banner
    assert all(u.username in banner for u in demo)
