"""What every command works with: the staff context plus the terminal's output streams."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from typing import TextIO

from staff.context import StaffContext


@dataclass
class Context(StaffContext):
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)
    json_mode: bool = False  # `centers --json`: stdout carries one JSON document, every note goes to stderr

    def print(self, text: str = "") -> None:
        """Text for people: stdout, or stderr under --json (so stdout stays pure JSON)."""
        (self.err if self.json_mode else self.out).write(text + "\n")

    def emit(self, document: object) -> None:
        """The command's machine-readable answer: one JSON document on stdout."""
        self.out.write(json.dumps(document, ensure_ascii=False, indent=2, default=str) + "\n")

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
