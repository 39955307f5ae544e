"""`centers --json COMMAND`: every command answers with one JSON document on stdout, notes on stderr.

Run against the dev server (the only one that answers `list`'s visibility query), a worker in this
process, and the session's PostgreSQL. Also: --version, the completion script, `db status`, and the
update-timeout advice.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta

import pytest
from temporalio.worker import Worker

from activities.registry import build_activities
from workers.sandbox import workflow_runner
from centers.main import build_parser
from models.offices import load_offices
from models.policy import GUIDELINE_2025
from models.profile import CenterProfile
from models.state import LifecycleInput
from rules.catalog import ACTIONS
from tests.centers.cli_support import REPO, cli, example, profile_file, write_json
from workflows.lifecycle import CenterLifecycle


def _document(result, status: int = 0):
    assert result.status == status, result
    return json.loads(result.out)  # pure JSON: nothing else on stdout


async def test_every_command_prints_pure_json(dev_client, db_pool, database_url, worker_settings, tmp_path):
    queue = f"json-{uuid.uuid4().hex[:8]}"
    run = dict(client=dev_client, task_queue=queue, database_url=database_url)
    async with Worker(dev_client, task_queue=queue, workflows=[CenterLifecycle], workflow_runner=workflow_runner(),
                      activities=build_activities(db_pool, worker_settings)):
        path, data = profile_file(tmp_path)
        cid = data["center_id"]
        started = _document(await cli("--json", "start", path, **run))
        assert started["workflow_id"] == f"center-{cid}" and started["run_id"]
        existing = json.loads((REPO / "examples" / "import.json").read_text(encoding="utf-8"))
        existing["profile"]["center_id"] = f"imp-{uuid.uuid4().hex[:8]}"
        imported = _document(await cli("--json", "import", write_json(tmp_path, "i.json", existing), **run))
        assert imported["outcome"] == "imported" and imported["phase"] == "designated"

        application = example("submit_application")
        application.pop("partner_agreements")  # the factory profile has no partners (M6)
        action = await cli("--json", "submit_application", cid, "--file", write_json(tmp_path, "a.json", application),
                           **run)
        accepted = _document(action)
        assert accepted["outcome"] == "accepted" and accepted["result"]["phase"] == "county_review"
        assert "request_id" in action.err  # the note went to stderr

        refused = _document(await cli("--json", "submit_application", cid, "--file",
                                      write_json(tmp_path, "b.json", application), **run), status=1)
        assert refused["outcome"] == "refused" and refused["rule_id"]

        signalled = _document(await cli("--json", "withdraw", cid, "--signal", "--file",
                                        write_json(tmp_path, "w.json", example("withdraw")), **run))
        assert signalled["outcome"] == "signalled"

        assert _document(await cli("--json", "show", cid, **run))["profile"]["center_id"] == cid
        listed = _document(await cli("--json", "list", **run))
        assert "centers" in listed and "query" in listed
        assert isinstance(_document(await cli("--json", "deadlines", **run)), list)

    for name in ("coverage", "status", "ledger"):
        rows = _document(await cli("--json", "report", name, **run))
        assert rows["report"] == name and isinstance(rows["rows"], list)
    written = _document(await cli("--json", "report", "status", "--out", str(tmp_path / "s.xlsx"), **run))
    assert written["written_to"] == str(tmp_path / "s.xlsx")
    assert "current" in _document(await cli("--json", "docs", "--check", **run))
    assert "covered_through" in _document(await cli("--json", "calendar", **run))
    assert all(m["state"] == "applied" for m in _document(await cli("--json", "db", "status", **run))["migrations"])

    assert "complete" in _document(await cli("--json", "completion", "bash"))["script"]
    assert isinstance(_document(await cli("--json", "staff", "list", **run)), list)
    bad = await cli("--json", "show", "no-such-center", **run)
    assert _document(bad, status=1)["error"]  # a failure is a document too


def test_every_subcommand_is_covered_by_the_json_test():
    """A new command must be added to the test above (and honour --json)."""
    commands = set(build_parser()._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    assert commands - set(ACTIONS) == {"start", "import", "show", "list", "deadlines", "report", "docs", "calendar", "db",
                                       "completion", "staff"}


def test_version(capsys):
    with pytest.raises(SystemExit) as exit_:
        build_parser().parse_args(["--version"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith("centers 0.")


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
async def test_completion_script(shell):
    result = await cli("completion", shell)
    assert result.status == 0, result
    assert "centers" in result.out and ("complete" in result.out or "compdef" in result.out)


async def test_update_timeout_gives_the_retry_advice(env, tmp_path):
    """No worker polls the lifecycle's queue: the update times out with the advice, not a stack trace."""
    path, data = profile_file(tmp_path)
    profile = CenterProfile.model_validate(data)
    await env.client.start_workflow(CenterLifecycle.run, LifecycleInput(
        profile=profile, policy=GUIDELINE_2025, offices=load_offices(profile.county)),
        id=f"center-{profile.center_id}", task_queue="nobody-polls-this", run_timeout=timedelta(minutes=5))
    application = example("submit_application")
    application.pop("partner_agreements")
    result = await cli("submit_application", profile.center_id, "--file", write_json(tmp_path, "a.json", application),
                       "--timeout", "1", "--request-id", "r-timeout-1", client=env.client)
    assert result.status == 1, result
    assert "no answer within 1 s" in result.err and "--request-id r-timeout-1" in result.err


async def test_unwritable_out_exits_2(database_url, tmp_path):
    """Bad input at the door, as documented: exit 2 and nothing written."""
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    for out in (str(tmp_path / "missing" / "s.csv"), str(a_file / "s.xlsx"), str(tmp_path)):
        result = await cli("report", "status", "--out", out, database_url=database_url)
        assert result.status == 2, result
        assert "--out" in result.err
    assert a_file.read_text() == "x"
