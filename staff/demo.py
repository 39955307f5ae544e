"""Demo accounts that `make run` seeds (PORTAL_DEMO_ACCOUNTS): one per role and one per county.

They are marked demo in the directory and on every page, and their passwords are printed in the
banner: for a laptop, never for production (set PORTAL_DEMO_ACCOUNTS=false and add real users
with `centers staff add`, or sign in through OpenID Connect).
"""

from __future__ import annotations

import asyncpg

from models.directory import COUNTY_NAMES_ZH, County, Role
from staff import directory
from staff.identity import StaffUser

DEMO_PASSWORD = "demo-password"
EXAMPLE_CENTER = "zs-new-materials-01"  # examples/center.json


def demo_users() -> list[StaffUser]:
    users = [
        StaffUser(user_id="demo-bureau", username="bureau", display_name="市科技局（演示）", role=Role.CITY_BUREAU,
                  demo=True),
        StaffUser(user_id="demo-entity", username="entity", display_name="中心联系人（演示）",
                  role=Role.IMPLEMENTING_ENTITY, center_ids=(EXAMPLE_CENTER,), demo=True),
    ]
    for county in County:
        users.append(StaffUser(user_id=f"demo-{county.value}", username=county.value,
                               display_name=f"{COUNTY_NAMES_ZH[county]}科技部门（演示）",
                               role=Role.COUNTY_DEPARTMENT, county=county, demo=True))
    return users


async def seed(conn: asyncpg.Connection) -> list[StaffUser]:
    """Add the demo users that are missing (an existing username is left as it is)."""
    taken = {u.username for u in await directory.list_users(conn)}
    for user in demo_users():
        if user.username not in taken:
            await directory.add_user(conn, user, DEMO_PASSWORD)
    return demo_users()
