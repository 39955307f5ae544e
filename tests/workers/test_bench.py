"""`make bench` keeps running: it imports test scenarios, so a refactor of them must not break it."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.centers.cli_support import REPO


def test_bench_runs_the_ten_year_scenario_and_prints_its_ratios():
    result = subprocess.run([sys.executable, "-m", "bench"], cwd=REPO, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert re.search(r"largest run: \d+ events = [\d.]+% of the 2000-event budget per run", result.stdout), result.stdout
    assert re.search(r"= \d+ events per center-year", result.stdout), result.stdout
