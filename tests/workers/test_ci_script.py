"""`.ci/run` runs the README's `make test`, and its version banner cannot fail the build.

CI once failed with exit 141 after 0 s: `make --version | head -n 1` under `set -o pipefail`
lets `head` close the pipe while make still writes, and make dies of SIGPIPE.
"""

import re
import subprocess
from pathlib import Path

CI_RUN = Path(__file__).resolve().parents[2] / ".ci" / "run"


def _commands() -> list[str]:
    lines = CI_RUN.read_text(encoding="utf-8").splitlines()
    return [line.split("  #")[0].strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def test_ci_runs_the_readme_test_command():
    readme = (CI_RUN.parents[1] / "README.md").read_text(encoding="utf-8")
    assert "make test" in readme
    assert _commands()[-1] == "make test"


def test_ci_pipes_never_end_in_a_reader_that_stops_early():
    early_readers = re.compile(r"\|\s*(head|grep -m|grep -q|awk .*exit)\b")
    offenders = [c for c in _commands() if early_readers.search(c)]
    assert offenders == []


def test_ci_banner_lines_pass_under_pipefail():
    """Every line before `make install` runs green, under the script's own shell options."""
    commands = _commands()
    banner = commands[commands.index("set -euo pipefail") + 1 : commands.index("make install")]
    banner = [c for c in banner if not c.startswith("cd ")]
    assert banner, "the banner moved: update this test"
    script = "set -euo pipefail\n" + "\n".join(banner)
    for _ in range(20):
        done = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
