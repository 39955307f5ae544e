"""Money end to end on the time-skipping server, real PostgreSQL and SMTP (S1-S3, PD5, PD6, PD9, PD11-PD14).

The yearly city cap (PD6) spans every center, and lifecycles can only grant advances for the
current year or the next, so tests sharing the session database would see each other's advances.
This module therefore overrides ``db_pool``: every test here gets a fresh, migrated database of its
own (the shared ``centers`` fixture then runs its worker on it), and the tests are independent and
order-free.
"""

from __future__ import annotations

import asyncio
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
import pytest_asyncio
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError

from db.ledger import center_balances, city_totals, list_entries
from db.outcomes import list_audit
from models.state import CenterState
from rules.calendar import default_calendar, end_of_day, period_end
from tests.fixtures import factories as f
from tests.workflows.flows import designate, issue_document, state_of, today, until

D = Decimal


@pytest_asyncio.fixture(loop_scope="session")
async def db_pool(fresh_db_pool: asyncpg.Pool) -> asyncpg.Pool:
    """A fresh database per test, so the yearly cap is this test's alone."""
    return fresh_db_pool


def s3_end(first_day: date):
    """PD5, PD10: 2 years from the first advance, on the next working day if that is a rest day."""
    return period_end(first_day, years=2, calendar=default_calendar()).due_at


def bureau() -> dict[str, Any]:
    return f.actor("city_bureau", name="张华")


def grant(amount: str, year: int | None = None) -> dict[str, Any]:
    data = {"actor": bureau(), "request_id": f.rid(), "amount_yuan": amount, "payment_ref": "舟科拨〔2026〕9号"}
    return data | ({"year": year} if year is not None else {})


def settle(year: int, due: str) -> dict[str, Any]:
    return {"actor": bureau(), "request_id": f.rid(), "year": year, "amount_due_yuan": due,
            "assessment_ref": f"绩效评价报告 {year}"}


def repay(year: int, amount: str) -> dict[str, Any]:
    return {"actor": bureau(), "request_id": f.rid(), "year": year, "amount_yuan": amount, "receipt_ref": "缴款书"}


async def refusal(handle, action: str, payload: dict) -> dict[str, str]:
    with pytest.raises(WorkflowUpdateFailedError) as info:
        await handle.execute_update(action, payload)
    cause = info.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "ActionRefused"
    return cause.details[0]


async def sleep_until(env, moment) -> None:
    await env.sleep(moment - await env.get_current_time())


def text_of(message) -> str:
    return message.get_body(preferencelist=("plain",)).get_content()


async def test_s1_pd11_fourth_year_refused_by_the_ledger(centers, env, db_pool):
    """S1, PD11, PD12: a (designated) center is subsidized for the years Y, Y+1, Y+2 from its first
    advance, each granted during its own year; a fourth is refused by the ledger, naming the years."""
    profile = f.profile()
    handle = await centers.start(profile)
    this_year = (await today(env)).year
    await handle.execute_update("grant_advance", grant("500000", this_year))
    await designate(handle, env)
    for year in (this_year + 1, this_year + 2):
        await sleep_until(env, end_of_day(date(year, 1, 1)))
        await handle.execute_update("grant_advance", grant("500000", year))
    await sleep_until(env, end_of_day(date(this_year + 3, 1, 1)))
    refused = await refusal(handle, "grant_advance", grant("500000", this_year + 3))
    assert (refused["rule_id"], refused["field"]) == ("PD11", "year") and "at most 3 years" in refused["message"]
    assert f"{this_year} to {this_year + 2}" in refused["message"]
    state = await state_of(handle)
    assert state.subsidy.years_granted == [this_year, this_year + 1, this_year + 2]
    async with db_pool.acquire() as conn:
        entries = await list_entries(conn, profile.center_id)
    assert [(e.kind, e.year, e.amount_yuan) for e in entries] == [
        ("advance", y, D("500000.00")) for y in (this_year, this_year + 1, this_year + 2)]


async def test_pd12_advance_only_during_its_year_so_december_cannot_spend_next_years_cap(centers, env, db_pool):
    """PD12: the cap is per subsidy year and an advance for Y is granted only during Y: 3M for this
    year passes, 3M for next year is refused today; nothing of it reaches the ledger."""
    a, b = await centers.start(f.profile()), await centers.start(f.profile())
    year = (await today(env)).year
    await a.execute_update("grant_advance", grant("3000000", year))
    ahead = await refusal(b, "grant_advance", grant("3000000", year + 1))
    assert (ahead["rule_id"], ahead["field"]) == ("PD12", "year") and f"only during {year + 1}" in ahead["message"]
    async with db_pool.acquire() as conn:
        assert (await city_totals(conn, year + 1)).advanced_yuan == D("0.00")
        assert (await city_totals(conn, year)).headroom_yuan == D("0.00")


async def test_pd12_money_returned_frees_no_headroom(centers, env, db_pool):
    """PD12: a withdrawn center's advance, settled at zero and repaid in full, frees none of the cap."""
    a, b = await centers.start(f.profile()), await centers.start(f.profile())
    year = (await today(env)).year
    await a.execute_update("grant_advance", grant("3000000", year))
    await a.execute_update("withdraw", {"actor": f.actor("implementing_entity"), "request_id": f.rid(),
                                        "reason": "不再建设"})
    await a.execute_update("settle_subsidy", settle(year, "0"))  # PD13: ended, so it may be settled now
    await a.execute_update("record_repayment", repay(year, "3000000"))
    refused = await refusal(b, "grant_advance", grant("1", year))
    assert refused["rule_id"] == "PD6" and "headroom left 0.00 yuan" in refused["message"]


async def test_pd6_cap_refused_with_headroom(centers, env, db_pool):
    """PD6: an advance that would pass the city's yearly cap is refused with the headroom left; the
    refusal is kept in the state and the audit log, and nothing reaches the ledger."""
    first, second = f.profile(), f.profile()
    a, b = await centers.start(first), await centers.start(second)
    year = (await today(env)).year
    await a.execute_update("grant_advance", grant("2500000", year))
    refused = await refusal(b, "grant_advance", grant("600000.00", year))
    assert (refused["rule_id"], refused["field"]) == ("PD6", "amount_yuan")
    assert "headroom left 500,000.00 yuan" in refused["message"]
    state = await state_of(b)
    assert state.subsidy.years == [] and state.rejected[-1].rule_id == "PD6"
    assert state.deadline("s3-designation") is None  # no advance, no S3 clock (PD5)
    await b.execute_update("grant_advance", grant("500000.00", year))  # exactly the headroom
    async with db_pool.acquire() as conn:
        totals = await city_totals(conn, year)
        audit = await list_audit(conn, second.center_id)
    assert (totals.advanced_yuan, totals.headroom_yuan, totals.centers) == (D("3000000.00"), D("0.00"), 2)
    assert [r.outcome for r in audit if r.action == "grant_advance"] == ["rejected", "accepted"]


async def test_pd6_two_concurrent_advances_racing_for_the_last_headroom(centers, env, db_pool):
    """PD6: two centers' advances race for the last 200,000 yuan: one passes, one is refused, and the
    year's advances in the ledger sum to at most the cap."""
    filler, a, b = [await centers.start(f.profile()) for _ in range(3)]
    year = (await today(env)).year
    await filler.execute_update("grant_advance", grant("2800000", year))
    results = await asyncio.gather(
        a.execute_update("grant_advance", grant("200000", year)),
        b.execute_update("grant_advance", grant("200000", year)),
        return_exceptions=True,
    )
    passed = [r for r in results if isinstance(r, dict)]
    failed = [r for r in results if isinstance(r, WorkflowUpdateFailedError)]
    assert len(passed) == 1 and len(failed) == 1, results
    assert failed[0].cause.details[0]["rule_id"] == "PD6"
    async with db_pool.acquire() as conn:
        advanced = await conn.fetchval(
            "SELECT sum(amount_yuan) FROM subsidy_ledger WHERE year = $1 AND kind = 'advance'", year)
    assert advanced == D("3000000.00")


async def test_s2_excess_settled_into_clawback(centers, env, db_pool, smtp_server):
    """S2: the assessment fixes the amount due; the excess is a clawback owed by the center, due in
    policy.clawback_due_days, visible in the state and the ledger; the bureau's repayment closes it."""
    profile = f.profile()
    handle = await centers.start(profile)
    year = (await today(env)).year
    await handle.execute_update("grant_advance", grant("1000000", year))
    early = await refusal(handle, "settle_subsidy", settle(year, "800000.00"))
    assert (early["rule_id"], early["field"]) == ("PD13", "year")  # the year is not over
    await sleep_until(env, end_of_day(date(year, 12, 31)) + timedelta(hours=2))
    result = await handle.execute_update("settle_subsidy", settle(year, "800000.00"))
    assert "200,000.00 yuan clawed back" in result["summary"]
    state = await state_of(handle)
    [clawback] = state.subsidy.clawbacks
    assert (clawback.rule_id, clawback.amount_yuan, clawback.year) == ("S2", D("200000.00"), year)
    assert clawback.due_on == await today(env) + timedelta(days=90)
    assert state.deadline(f"settlement-{year}") is None
    deadline = state.deadline(clawback.id)
    assert deadline is not None and deadline.due_at == end_of_day(clawback.due_on) and deadline.outlives_end
    mail = await smtp_server.wait_for(
        lambda m: profile.center_id in text_of(m) and "subsidy settlement" in str(m["Subject"]))
    assert "200,000.00 yuan" in text_of(mail)

    await handle.execute_update("record_repayment", repay(year, "50000"))
    await handle.execute_update("record_repayment", repay(year, "150000.00"))
    state = await state_of(handle)
    assert not state.subsidy.clawbacks[0].open and state.deadline(clawback.id) is None
    assert state.subsidy.outstanding_yuan == D("0.00")
    async with db_pool.acquire() as conn:
        entries = await list_entries(conn, profile.center_id)
        [balance] = await center_balances(conn, profile.center_id)
    assert [(e.kind, e.amount_yuan, e.rule_id) for e in entries] == [
        ("advance", D("1000000.00"), "S2"), ("settlement", D("800000.00"), "S2"), ("clawback", D("200000.00"), "S2"),
        ("repayment", D("50000.00"), "S2"), ("repayment", D("150000.00"), "S2")]
    assert (balance.advanced_yuan, balance.due_yuan, balance.outstanding_yuan, balance.net_yuan) == (
        D("1000000.00"), D("800000.00"), D("0.00"), D("800000.00"))


async def test_pd5_s3_deadline_runs_from_the_first_advance(centers, env):
    """PD5: the 2-year S3 deadline runs from the day the first subsidy is issued (granted here in
    `preparing`, for a center the city and county build together); a later advance does not move it."""
    handle = await centers.start(f.profile())
    first_day = await today(env)
    await handle.execute_update("grant_advance", grant("300000", first_day.year))
    state = await state_of(handle)
    deadline = state.deadline("s3-designation")
    assert state.phase == "preparing" and deadline is not None and deadline.rule_id == "S3"
    assert deadline.due_at == s3_end(first_day) and state.subsidy.first_advance_on == first_day
    await sleep_until(env, end_of_day(date(first_day.year + 1, 1, 10)))
    await handle.execute_update("grant_advance", grant("300000"))  # this year's, by default
    state = await state_of(handle)
    assert state.subsidy.years_granted == [first_day.year, first_day.year + 1]
    assert state.deadline("s3-designation").due_at == deadline.due_at


async def test_s3_pd14_deadline_fires_on_undesignated_center(centers, env, db_pool, smtp_server):
    """S3, PD5, PD14: not designated 2 years after the first advance: the durable timer fires, no
    further advance is possible, and nothing is clawed back without the bureau's finding: it settles
    each unsettled year (what was used is due) and the rest is clawed back under S3. PD9: the S3
    reminders reach the bureau too. The center may still go on with its designation procedure."""
    profile = f.profile()
    handle = await centers.start(profile)
    first_day = await today(env)
    await handle.execute_update("grant_advance", grant("1000000", first_day.year))
    due_at = s3_end(first_day)
    await sleep_until(env, due_at - timedelta(hours=1))
    assert not (await state_of(handle)).subsidy.s3_lapsed
    reminder = await smtp_server.wait_for(
        lambda m: profile.center_id in text_of(m) and "Reminder: designation within 2 years" in str(m["Subject"]))
    assert "kjj@zhoushan.example" in {a.addr_spec for a in reminder["To"].addresses}
    await sleep_until(env, due_at + timedelta(hours=1))
    state = await until(handle, lambda s: s.subsidy.s3_lapsed, "S3 lapse")
    assert state.deadline("s3-designation") is None and state.subsidy.clawbacks == []
    assert state.deadline(f"settlement-{first_day.year}").outlives_end

    refused = await refusal(handle, "grant_advance", grant("100000"))
    assert (refused["rule_id"], refused["field"]) == ("S3", "designation")
    await handle.execute_update("settle_subsidy", settle(first_day.year, "350000"))
    clawback = (await state_of(handle)).subsidy.clawback(first_day.year)
    assert (clawback.rule_id, clawback.amount_yuan) == ("S3", D("650000.00"))
    assert (await handle.execute_update("submit_application", f.application()))["phase"] == "county_review"

    async with db_pool.acquire() as conn:
        entries = await list_entries(conn, profile.center_id)
        audit = await list_audit(conn, profile.center_id)
    assert [(e.kind, e.amount_yuan, e.rule_id, e.actor) for e in entries] == [
        ("advance", D("1000000.00"), "S2", "city_bureau: 张华"), ("lapse", D("0.00"), "S3", "system"),
        ("settlement", D("350000.00"), "S2", "city_bureau: 张华"), ("clawback", D("650000.00"), "S3", "city_bureau: 张华")]
    assert "due:s3_deadline" in [a.action for a in audit]
    lapsed = await smtp_server.wait_for(
        lambda m: profile.center_id in text_of(m) and "Designation deadline passed" in str(m["Subject"]))
    assert "settle" in text_of(lapsed)


async def test_s3_deadline_does_not_fire_on_designated_center(centers, env, db_pool):
    """S3: a center designated within 2 years of its first advance keeps its subsidy: the deadline is
    closed at designation and never fires; further advances stay possible (within S1)."""
    profile = f.profile()
    handle = await centers.start(profile)
    first_day = await today(env)
    await handle.execute_update("grant_advance", grant("1000000", first_day.year))
    assert (await state_of(handle)).deadline("s3-designation") is not None
    state = await designate(handle, env)
    assert state.deadline("s3-designation") is None
    await sleep_until(env, s3_end(first_day) + timedelta(days=1))
    state = await state_of(handle)
    assert not state.subsidy.s3_lapsed and state.subsidy.clawbacks == []
    later = await today(env)
    await handle.execute_update("grant_advance", grant("400000", later.year))
    async with db_pool.acquire() as conn:
        entries = await list_entries(conn, profile.center_id)
        audit = await list_audit(conn, profile.center_id)
    assert [(e.kind, e.year) for e in entries] == [("advance", first_day.year), ("advance", later.year)]
    assert "due:s3_deadline" not in [a.action for a in audit]


async def test_s1_float_amount_is_refused_at_the_door(centers):
    """S1: amounts are exact yuan; a float never reaches the ledger."""
    handle = await centers.start(f.profile())
    refused = await refusal(handle, "grant_advance", grant("1") | {"amount_yuan": 1000000.5})
    assert refused["field"] == "amount_yuan" and "never a float" in refused["message"]


def withdraw() -> dict[str, Any]:
    return {"actor": f.actor("implementing_entity"), "request_id": f.rid(), "reason": "不再建设"}


async def test_s2_pd13_revoked_center_keeps_its_unsettled_advance_until_settled(centers, env, db_pool):
    """S2, PD13: a center revoked while holding an unsettled advance does not strand it: the lifecycle
    stays open with the bureau's settlement deadline; the settlement (allowed now, the center ended)
    claws back the excess; once repaid, the lifecycle completes."""
    profile = f.profile()
    handle = await centers.start(profile)
    year = (await today(env)).year
    await handle.execute_update("grant_advance", grant("1000000", year))
    await designate(handle, env)
    await handle.execute_update("revoke", {"actor": bureau(), "request_id": f.rid(),
                                           "ground": "research_misconduct", "evidence": "科研失信认定书"})
    state = await state_of(handle)
    assert state.phase == "revoked" and [d.id for d in state.agenda] == [f"settlement-{year}"]
    assert state.deadline(f"settlement-{year}").who_acts == "city_bureau"
    await handle.execute_update("settle_subsidy", settle(year, "400000"))
    await handle.execute_update("record_repayment", repay(year, "600000"))
    final = await handle.result()
    assert final.phase == "revoked" and final.agenda == [] and final.subsidy.outstanding_yuan == D("0.00")
    async with db_pool.acquire() as conn:
        [balance] = await center_balances(conn, profile.center_id)
    assert (balance.advanced_yuan, balance.due_yuan, balance.net_yuan) == (
        D("1000000.00"), D("400000.00"), D("400000.00"))


async def test_s3_pd11_lapse_holds_for_every_later_lifecycle_of_the_center(centers, env, db_pool):
    """S3, PD11: "no further subsidy" after a lapse is the center's, not one lifecycle's: once the lapse
    was settled and repaid and the lifecycle closed, a new lifecycle of the same center is refused too."""
    profile = f.profile()
    first = await centers.start(profile)
    start = await today(env)
    await first.execute_update("grant_advance", grant("1000000", start.year))
    await first.execute_update("withdraw", withdraw())
    lapse = (await state_of(first)).deadline("s3-designation").due_at
    await sleep_until(env, lapse + timedelta(hours=1))
    await until(first, lambda s: s.subsidy.s3_lapsed, "S3 lapse")
    await first.execute_update("settle_subsidy", settle(start.year, "0"))
    await first.execute_update("record_repayment", repay(start.year, "1000000"))
    assert (await first.result()).agenda == []
    second = await centers.start(profile)
    refused = await refusal(second, "grant_advance", grant("500000"))
    assert (refused["rule_id"], refused["field"]) == ("S3", "designation") and "any later lifecycle" in refused["message"]
    async with db_pool.acquire() as conn:
        kinds = [e.kind for e in await list_entries(conn, profile.center_id)]
    assert kinds == ["advance", "lapse", "settlement", "clawback", "repayment"]


async def test_pd11_years_count_across_lifecycles(centers, env):
    """PD11: the subsidy years run from the center's first advance whatever its lifecycle: a new
    lifecycle three years on gets no advance for a fourth year."""
    profile = f.profile()
    first = await centers.start(profile)
    start = await today(env)
    await first.execute_update("grant_advance", grant("500000", start.year))
    await designate(first, env)
    await first.execute_update("revoke", {"actor": bureau(), "request_id": f.rid(),
                                          "ground": "research_misconduct", "evidence": "科研失信认定书"})
    await first.execute_update("settle_subsidy", settle(start.year, "500000"))
    assert (await first.result()).phase == "revoked"
    await sleep_until(env, end_of_day(date(start.year + 3, 1, 1)))
    second = await centers.start(profile)
    refused = await refusal(second, "grant_advance", grant("500000"))
    assert (refused["rule_id"], refused["field"]) == ("PD11", "year")
    assert f"{start.year} to {start.year + 2}" in refused["message"]


async def test_s3_rejected_center_applies_again_inside_its_window(centers, env):
    """S3 (decision, docs/decisions.md): a center rejected after an advance returns to the procedure in
    the same lifecycle on a new application; its money and its S3 deadline stay, and a designation in
    time closes the deadline."""
    handle = await centers.start(f.profile())
    year = (await today(env)).year
    await handle.execute_update("grant_advance", grant("800000", year))
    await handle.execute_update("submit_application", f.application())
    await handle.execute_update("record_county_review", f.county_review(recommend=False))
    state = await state_of(handle)
    assert state.phase == "rejected" and state.deadline("s3-designation") is not None
    await env.sleep(timedelta(days=30))
    result = await handle.execute_update("submit_application", f.application())
    assert result["phase"] == "county_review" and "again" in result["summary"]
    state = await state_of(handle)
    assert state.county_review is None and state.ended_at is None and state.subsidy.years_granted == [year]
    assert state.deadline("s3-designation") is not None
    state = await designate_reviewed(handle, env)
    assert state.phase == "designated" and state.deadline("s3-designation") is None


async def designate_reviewed(handle, env) -> CenterState:
    """County review onwards, for a center whose application is already in."""
    await handle.execute_update("record_county_review", f.county_review())
    await handle.execute_update("record_city_evaluation", f.city_evaluation())
    await handle.execute_update("publish_notice", f.notice(await today(env)))
    state = await state_of(handle)
    await env.sleep(state.notice.ends_at - await env.get_current_time() + timedelta(minutes=1))
    await until(handle, lambda s: s.deadline("designation-document") is not None, "document due")
    await issue_document(handle, env)
    return await state_of(handle)
