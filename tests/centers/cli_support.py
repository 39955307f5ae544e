"""Helpers for the `centers` CLI tests: run a command in-process and capture what it prints."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

from centers.main import run
from tests.fixtures import factories as f
from workers.settings import Settings

REPO = Path(__file__).resolve().parents[2]


class Result:
    def __init__(self, status: int, out: str, err: str) -> None:
        self.status, self.out, self.err = status, out, err

    def __repr__(self) -> str:
        return f"Result(status={self.status}, out={self.out!r}, err={self.err!r})"

    def json(self) -> Any:
        return json.loads(self.out)


async def cli(*argv: str, client: Any = None, task_queue: str = "innovation-centers",
              database_url: str | None = None, now: Any = None, **settings: Any) -> Result:
    """`centers ARGV...` in this process, against an injected client and database."""
    out, err = io.StringIO(), io.StringIO()
    status = await run(list(argv), client=client, settings=Settings(task_queue=task_queue, **settings),
                       database_url=database_url, out=out, err=err, now=now)
    return Result(status, out.getvalue(), err.getvalue())


def write_json(directory: Path, name: str, data: Any) -> str:
    path = directory / name
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return str(path)


def profile_file(directory: Path, **changes: Any) -> tuple[str, dict[str, Any]]:
    """A valid profile (fresh center id and credit codes) written to a file; returns (path, data)."""
    data = f.profile_data(**changes)
    return write_json(directory, f"{data['center_id']}.json", data), data


def example(name: str) -> dict[str, Any]:
    return json.loads((REPO / "examples" / "actions" / f"{name}.json").read_text(encoding="utf-8"))
