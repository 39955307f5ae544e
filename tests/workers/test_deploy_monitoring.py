"""deploy/: the Prometheus alert rules and the Grafana dashboard read the series the worker exports,
cover what issue 12 names, and every alert has its section in docs/operations.md."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
ALERTS = REPO / "deploy/prometheus/alerts.yml"
DASHBOARD = REPO / "deploy/grafana/innovation-centers.json"
OPERATIONS = REPO / "docs/operations.md"
# Series seen on a live worker's endpoint: test_worker_process.py (latencies, pollers, our gauges) and
# test_failure_metrics.py (the failure counters, which appear with the first failure).
EXPORTED = {
    "temporal_workflow_task_schedule_to_start_latency_seconds_bucket",
    "temporal_activity_schedule_to_start_latency_seconds_bucket",
    "temporal_activity_execution_latency_seconds_bucket",
    "temporal_local_activity_execution_latency_seconds_bucket",
    "temporal_workflow_task_execution_failed_total",
    "temporal_activity_execution_failed_total",
    "temporal_num_pollers",
    "centers_outbox_unsent",
    "centers_outbox_failed",
    "centers_outbox_oldest_unsent_age_seconds",
    "centers_calendar_days_left",
}
METRIC = re.compile(r"\b((?:temporal|centers)_[a-z_]+)\b")


def _rules() -> list[dict]:
    return [rule for group in yaml.safe_load(ALERTS.read_text())["groups"] for rule in group["rules"]]


def _anchors() -> set[str]:
    return {re.sub(r"[^a-z0-9 -]", "", h.lower()).replace(" ", "-")
            for h in re.findall(r"^#+ (.+)$", OPERATIONS.read_text(), re.MULTILINE)}


def test_alerts_read_exported_series_and_have_a_runbook() -> None:
    rules = _rules()
    assert rules
    anchors = _anchors()
    for rule in rules:
        names = set(METRIC.findall(rule["expr"]))
        assert names and names <= EXPORTED, (rule["alert"], names - EXPORTED)
        assert rule["labels"]["severity"] in {"warning", "critical"}
        runbook = rule["annotations"]["runbook"]
        assert runbook.startswith("docs/operations.md#") and runbook.split("#")[1] in anchors, rule["alert"]
        assert rule["alert"].lower() in anchors


def test_alerts_cover_what_the_issue_names() -> None:
    exprs = " ".join(rule["expr"] for rule in _rules())
    for needed in ("schedule_to_start", "workflow_task_execution_failed", "activity_execution_failed",
                   "centers_outbox_oldest_unsent_age_seconds", "centers_calendar_days_left"):
        assert needed in exprs, needed
    assert "by (activity_type)" in exprs  # activity failures by type


def test_dashboard_panels_cover_the_same_and_read_exported_series() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [t["expr"] for p in dashboard["panels"] for t in p["targets"]]
    for expr in exprs:
        assert set(METRIC.findall(expr)) <= EXPORTED | {"temporal_workflow_task_execution_latency_seconds_bucket"}, expr
    joined = " ".join(exprs)
    for needed in ("schedule_to_start", "workflow_task_execution_failed", "by (activity_type) (rate(temporal_activity_execution_failed",
                   "centers_outbox_oldest_unsent_age_seconds", "centers_calendar_days_left"):
        assert needed in joined, needed
    # every panel the guide explains, and no panel it does not
    guide = OPERATIONS.read_text()
    for panel in dashboard["panels"]:
        assert panel["title"] in guide, panel["title"]


def test_operations_guide_covers_the_topics() -> None:
    headings = {h.strip() for h in re.findall(r"^## (.+)$", OPERATIONS.read_text(), re.MULTILINE)}
    assert {"Deploy", "Scale workers", "Upgrade workflow code", "Rotate secrets",
            "Add next year's working-day calendar (PD2)", "Back up and restore PostgreSQL", "Read the dashboard",
            "Alerts"} <= headings
