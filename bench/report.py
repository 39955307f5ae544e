"""One line per target, as `make bench` prints it: ``name: value (target …) ok|MISS``."""

from __future__ import annotations

RESULTS: list[tuple[str, bool]] = []


def target(name: str, value: str, goal: str, ok: bool) -> None:
    RESULTS.append((name, ok))
    print(f"{name}: {value} (target {goal}) {'ok' if ok else 'MISS'}", flush=True)


def note(text: str) -> None:
    print(f"  {text}", flush=True)
