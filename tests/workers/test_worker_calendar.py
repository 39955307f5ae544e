"""The worker says at start when the working-day data runs out soon or is invalid (PD2)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from structlog.testing import capture_logs

from rules import calendar as cal
from tests.fixtures.calendar import shipped_end
from workers.main import check_calendar


pytestmark = pytest.mark.usefixtures("shipped_calendar_only")


def test_pd2_worker_warns_at_start_when_the_data_ends_soon():
    end = shipped_end()
    with capture_logs() as logs:
        message = check_calendar(end - timedelta(days=32))
    assert message is not None and str(end.year + 1) in message
    assert [(e["event"], e["log_level"], e["covered_through"]) for e in logs] == [
        ("calendar_coverage_ending", "warning", str(end))]


def test_pd2_worker_logs_coverage_quietly_with_time_to_spare():
    with capture_logs() as logs:
        assert check_calendar(shipped_end() - timedelta(days=61)) is None
    assert [(e["event"], e["log_level"]) for e in logs] == [("calendar_covered", "info")]


def test_pd2_worker_logs_an_error_for_an_invalid_override_file(tmp_path, monkeypatch):
    path = tmp_path / "bad.toml"
    path.write_text('[2027]\nholidays = [2027-01-01]\n', encoding="utf-8")  # no source
    cal.use_overrides_file(path)  # shipped_calendar_only (autouse here) restores the file before it
    with capture_logs() as logs:
        message = check_calendar(date(2026, 11, 29))
    assert message is not None and "source" in message
    assert [(e["event"], e["log_level"]) for e in logs] == [("calendar_overrides_invalid", "error")]
