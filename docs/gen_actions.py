"""Regenerate docs/actions.md from the action registry, the payload models and examples/.

    .venv/bin/python docs/gen_actions.py           # write docs/actions.md
    .venv/bin/python docs/gen_actions.py --check   # exit 1 if docs/actions.md is stale

Same as `centers docs [--check]`.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from centers.docgen import DOC, is_current, write  # noqa: E402


def main(argv: list[str]) -> int:
    if "--check" in argv:
        if is_current():
            print(f"{DOC} is current")
            return 0
        print(f"{DOC} is stale: run .venv/bin/python docs/gen_actions.py", file=sys.stderr)
        return 1
    print(f"{DOC} {'written' if write() else 'unchanged'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
