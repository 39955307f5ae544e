"""The audit log records the signed-in user's stable id (issue 10; patch portal-audit-user-id).

An update and a refused signal from a signed-in user carry the id into the audit row; an action
without one (the CLI's operators, older clients) leaves it empty, as before.
"""

from __future__ import annotations

import asyncio

from db.outcomes import list_audit
from tests.fixtures import factories as f
from tests.workflows.scenarios import signed_in


async def test_audit_rows_carry_the_user_id_of_update_and_refused_signal(centers, db_pool):
    profile = f.profile()
    handle = await centers.start(profile)
    await handle.execute_update("submit_application", signed_in(f.application(), "u-contact-1"))
    await handle.signal("record_county_review", signed_in(f.county_review(county="putuo"), "u-putuo-1"))
    await handle.execute_update("record_county_review", f.county_review())

    # The workflow records each step in order just after it answers (issue 9): wait for the last.
    for _ in range(200):
        async with db_pool.acquire() as conn:
            audit = await list_audit(conn, profile.center_id)
        if any(a.action == "record_county_review" and a.outcome == "accepted" for a in audit):
            break
        await asyncio.sleep(0.05)
    by_action = {(a.action, a.outcome): a for a in audit}
    assert by_action[("submit_application", "accepted")].actor_user_id == "u-contact-1"
    refused = by_action[("record_county_review", "rejected")]
    assert (refused.actor_user_id, refused.rule_ids) == ("u-putuo-1", ["D5"])
    assert by_action[("record_county_review", "accepted")].actor_user_id is None
    assert by_action[("opened", "automatic")].actor_user_id is None
