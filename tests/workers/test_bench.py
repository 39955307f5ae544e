"""`make bench` keeps running: every benchmark at a small size, each target line printed."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from tests.centers.cli_support import REPO

TARGETS = ["throughput_ratio", "update_median_ratio", "history_events_per_center_year", "history_largest_run_events",
           "decade_wall_per_center", r"decade_\d+_wall_per_center", "worker_rss_10000_cached", "mail_burst_1000_seconds", "mail_burst_duplicates"]


@pytest.mark.timeout(900)
def test_bench_runs_every_benchmark_small_and_prints_each_target():
    result = subprocess.run([sys.executable, "-m", "bench"], cwd=REPO, capture_output=True, text=True, timeout=900,
                            env={**os.environ, "BENCH_SMALL": "1"})
    assert result.returncode == 0, result.stderr[-3000:]
    for name in TARGETS:
        assert re.search(rf"^{name}: .+ \(target .+\) (ok|MISS)$", result.stdout, re.M), (name, result.stdout)
    assert "mail_burst_duplicates: 0 (target 0) ok" in result.stdout, result.stdout  # nothing sent twice
