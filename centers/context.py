"""What every command works with: the staff context plus the terminal's output streams."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import TextIO

from staff.context import StaffContext


@dataclass
class Context(StaffContext):
    out: TextIO = field(default_factory=lambda: sys.stdout)
    err: TextIO = field(default_factory=lambda: sys.stderr)

    def print(self, text: str = "") -> None:
        self.out.write(text + "\n")

    def warn(self, text: str) -> None:
        self.err.write(text + "\n")
