"""Errors of the staff layer; each carries the CLI exit status it maps to.

0  done; 1 refused or failed; 2 bad input at the door (nothing was sent or written).
"""

from __future__ import annotations

OK = 0
FAILED = 1
BAD_INPUT = 2


class StaffError(Exception):
    """An error reported as one clear message (no traceback), with an exit status for the CLI."""

    status = FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(StaffError):
    """Input refused at the door: nothing was started, sent or written."""

    status = BAD_INPUT


class Failed(StaffError):
    """The work ran but did not succeed (refused, already running, not found, unreachable)."""

    status = FAILED


class NotFound(Failed):
    """No such center (or its lifecycle has ended) -- the portal answers 404."""
