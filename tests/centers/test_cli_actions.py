"""`centers <action>`: one subcommand per registered action, as updates or signals (INTERFACE.md).

In-process on the time-skipping server with a real worker, PostgreSQL and SMTP. Refusals print
`refused [RULE] field: message`, exit 1, and are audited once (D4, D5, D7, PD7).
"""

from __future__ import annotations

import json
from datetime import date

from db.outcomes import list_audit, record_batch
from models.effects import Ban, OutcomeBatch
from models.state import CenterState
from rules.catalog import ACTIONS
from tests.centers.cli_support import cli, example, profile_file, write_json
from tests.fixtures import factories as f
from tests.workflows.flows import today


async def started(centers, tmp_path, **changes) -> str:
    path, data = profile_file(tmp_path, **changes)
    result = await cli("start", path, client=centers.client, task_queue=centers.task_queue)
    assert result.status == 0, result
    centers.handles.append(centers.client.get_workflow_handle(f"center-{data['center_id']}"))
    return data["center_id"]


async def state_of(centers, cid: str) -> CenterState:
    return await centers.client.get_workflow_handle(f"center-{cid}").query("state", result_type=CenterState)


def strip(payload: dict) -> dict:
    """A factory payload without its envelope, as a clerk's file would often be."""
    return {k: v for k, v in payload.items() if k not in ("actor", "request_id")}


async def test_d3_d7_designation_procedure_through_the_cli(centers, env, database_url, tmp_path):
    """D3-D7 through `centers <action>`: example files, actor from the flags, a dated notice."""
    cid = await started(centers, tmp_path)
    run = dict(client=centers.client, database_url=database_url)

    application = example("submit_application")
    application.pop("partner_agreements")  # the factory profile has no partners (M6)
    applied = await cli("submit_application", cid, "--file", write_json(tmp_path, "a.json", application), **run)
    assert applied.status == 0, applied
    assert "accepted submit_application" in applied.out and "phase county_review" in applied.out
    assert applied.out.startswith("request_id ")

    review = await cli("record_county_review", cid, "--file", write_json(tmp_path, "r.json", strip(f.county_review())),
                       "--actor-name", "李华", "--actor-role", "county_department", "--actor-county", "dinghai", **run)
    assert review.status == 0, review

    evaluation = strip(f.city_evaluation())
    evaluated = await cli("record_city_evaluation", cid, "--json", json.dumps(evaluation, ensure_ascii=False),
                          "--actor-name", "赵强", "--actor-role", "city_bureau", **run)
    assert evaluated.status == 0, evaluated

    notice = await cli("publish_notice", cid, "--json", json.dumps(strip(f.notice(await today(env)))),
                       "--actor-name", "赵强", "--actor-role", "city_bureau", "--raw", **run)
    assert notice.status == 0, notice
    answer = json.loads(notice.out.split("\n", 1)[1])
    assert answer["phase"] == "public_notice" and answer["revision"] >= 4

    state = await state_of(centers, cid)
    assert state.phase == "public_notice" and state.deadline("notice-end") is not None
    shown = await cli("show", cid, **run)
    assert "public notice ends" in shown.out and "D7" in shown.out


async def test_d5_refused_update_prints_rule_and_field_exits_1_and_is_audited_once(centers, database_url, db_pool, tmp_path):
    """An update refused by the validator never reaches history; the staff layer reports it back
    (`refusal_noted`) and the workflow writes the audit row, once for a request_id."""
    cid = await started(centers, tmp_path)
    run = dict(client=centers.client, database_url=database_url)
    assert (await cli("submit_application", cid, "--json", json.dumps(f.application()), **run)).status == 0
    wrong_county = f.county_review(county="putuo")
    refused = await cli("record_county_review", cid, "--json", json.dumps(wrong_county), "--request-id", "retry-me", **run)
    assert refused.status == 1, refused
    assert "refused [D5] actor.county: only the county department of dinghai" in refused.out
    again = await cli("record_county_review", cid, "--json", json.dumps(wrong_county), "--request-id", "retry-me", **run)
    assert again.status == 1

    # The county's own review queues behind both reports (signals are handled first, one at a time),
    # and its answer follows every record before it: state and audit log are final when it returns.
    assert (await cli("record_county_review", cid, "--json", json.dumps(f.county_review()), **run)).status == 0
    state = await state_of(centers, cid)
    assert [(r.action, r.request_id, r.via, r.rule_id) for r in state.rejected] == [
        ("record_county_review", "retry-me", "update", "D5")]  # the retry with the same request id adds nothing
    async with db_pool.acquire() as conn:
        rejected = [a for a in await list_audit(conn, cid) if a.outcome == "rejected"]
    assert len(rejected) == 1, rejected
    row = rejected[0]
    assert row.request_id == "retry-me" and row.action == "record_county_review"
    assert row.rule_ids == ["D5"] and row.actor_role == "county_department" and row.actor_county == "putuo"
    assert row.detail["field"] == "actor.county" and row.phase_before == "county_review"
    assert "only the county department of dinghai" in row.summary


async def test_pd7_refusal_after_acceptance_is_audited_by_the_workflow_not_twice(centers, database_url, db_pool, tmp_path):
    """PD7: the ban is found by an activity after the update was accepted; the workflow audits it."""
    path, data = profile_file(tmp_path)
    profile = f.profile(**{k: v for k, v in data.items() if k != "center_id"}, center_id=data["center_id"])
    ban = Ban(key=f"ban-{profile.center_id}", center_id="c-old", subject_kind="implementing_entity",
              credit_code=profile.implementing_entity.credit_code, subject_name=profile.implementing_entity.name,
              scope="any", rule_id="M2", starts_on=date(2025, 12, 1), ends_on=date(2099, 11, 30),
              reason="delisted after a failed rectification")
    async with db_pool.acquire() as conn:
        await record_batch(conn, OutcomeBatch(center_id="c-old", bans=[ban]))
    assert (await cli("start", path, client=centers.client, task_queue=centers.task_queue)).status == 0
    centers.handles.append(centers.client.get_workflow_handle(f"center-{profile.center_id}"))
    refused = await cli("submit_application", profile.center_id, "--json", json.dumps(f.application()),
                        client=centers.client, database_url=database_url)
    assert refused.status == 1 and "refused [PD7]" in refused.out and "2099-11-30" in refused.out
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, profile.center_id)
    assert [a.outcome for a in audit if a.action == "submit_application"] == ["rejected"]
    assert not any(":refused:" in a.key for a in audit)


async def test_d4_repeated_request_id_returns_the_first_answer(centers, database_url, tmp_path):
    cid = await started(centers, tmp_path)
    run = dict(client=centers.client, database_url=database_url)
    payload = json.dumps(f.application())
    first = await cli("submit_application", cid, "--json", payload, **run)
    again = await cli("submit_application", cid, "--json", payload, **run)
    assert first.status == 0 and again.status == 0, again
    assert "already answered" in again.out and "nothing changed" in again.out


async def test_d3_refused_signal_is_kept_in_the_state(centers, database_url, db_pool, tmp_path):
    """--signal: the refusal is the workflow's to keep (state.rejected and the audit log)."""
    cid = await started(centers, tmp_path)
    bad = f.application()
    bad["checklist"]["innovation_functions"]["pilot_testing"] = {"met": False, "evidence": "尚未建成"}
    sent = await cli("submit_application", cid, "--json", json.dumps(bad), "--signal",
                     client=centers.client, database_url=database_url)
    assert sent.status == 0, sent
    assert f"signal submit_application sent to center-{cid}" in sent.out
    for _ in range(100):
        state = await state_of(centers, cid)
        if state.rejected:
            break
    assert state.rejected[-1].via == "signal" and state.rejected[-1].rule_id == "D3"
    assert state.rejected[-1].request_id == bad["request_id"]
    shown = await cli("show", cid, client=centers.client)
    assert "refused actions" in shown.out and "checklist.innovation_functions.pilot_testing" in shown.out


async def test_malformed_payload_is_refused_at_the_door_exit_2_nothing_sent(centers, database_url, db_pool, tmp_path):
    cid = await started(centers, tmp_path)
    run = dict(client=centers.client, database_url=database_url)
    no_actor = await cli("withdraw", cid, "--json", '{"reason": "x"}', **run)
    assert no_actor.status == 2 and "actor: required but missing" in no_actor.err and "--actor-name" in no_actor.err
    bad_json = await cli("withdraw", cid, "--json", "{reason", **run)
    assert bad_json.status == 2 and "not valid JSON" in bad_json.err
    extra = await cli("withdraw", cid, "--json", '{"reason": "x", "why": 1}', "--actor-name", "王敏",
                      "--actor-role", "implementing_entity", **run)
    assert extra.status == 2 and "why: unknown field" in extra.err
    no_source = await cli("withdraw", cid, **run)
    assert no_source.status == 2
    state = await state_of(centers, cid)
    assert state.phase == "preparing" and not state.rejected
    async with db_pool.acquire() as conn:
        audit = await list_audit(conn, cid)
    assert [a.action for a in audit if a.action != "opened"] == []  # the opening step may still be recording


async def test_action_on_unknown_center_exits_1(env, database_url):
    ok = {"actor": f.actor("implementing_entity"), "reason": "x"}
    result = await cli("withdraw", "no-such-center", "--json", json.dumps(ok), client=env.client, database_url=database_url)
    assert result.status == 1 and "has no lifecycle" in result.err


def test_there_is_one_subcommand_per_registered_action():
    from centers.main import build_parser

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    assert set(ACTIONS) <= set(commands)
    assert set(commands) - set(ACTIONS) == {"start", "import", "show", "list", "deadlines", "report", "docs", "calendar", "db",
                                         "completion", "staff"}


async def test_s2_advance_granted_through_the_cli_shows_in_state_and_ledger_report(centers, database_url, tmp_path):
    """S1, S2, PD6: `centers grant_advance` (the example file, this year), then `show` and the ledger report."""
    cid = await started(centers, tmp_path)
    payload = example("grant_advance")
    payload.pop("year")  # this year (Asia/Shanghai), so the example never ages out of "this year or next"
    payload["amount_yuan"] = "1000.00"  # small: the yearly city cap (PD6) is shared with other tests
    granted = await cli("grant_advance", cid, "--json", json.dumps(payload, ensure_ascii=False),
                        client=centers.client, database_url=database_url)
    assert granted.status == 0, granted
    shown = await cli("show", cid, client=centers.client)
    assert "subsidy by year (S1-S3)" in shown.out and "1,000.00 yuan" in shown.out and "not settled" in shown.out
    out = tmp_path / "ledger.csv"
    assert (await cli("report", "ledger", "--out", str(out), database_url=database_url)).status == 0
    text = out.read_text(encoding="utf-8-sig")
    assert any(cid in line and "advance" in line and ",1000.00," in line for line in text.splitlines())
