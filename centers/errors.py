"""Exit statuses of `centers` and the errors that carry them.

0  done (an accepted action, a started lifecycle, a report written)
1  refused or failed (a rule refused the action, the center already runs, Temporal unreachable...)
2  bad input at the door (unreadable file, malformed JSON, a payload or profile that does not
   validate, a bad command line): nothing was sent and nothing written
"""

from __future__ import annotations

OK = 0
FAILED = 1
BAD_INPUT = 2


class CliError(Exception):
    """An error the CLI reports as one clear message and an exit status (no traceback)."""

    status = FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadInput(CliError):
    """Input refused at the door: nothing was started, sent or written."""

    status = BAD_INPUT


class Failed(CliError):
    """The command ran but did not succeed (refused, already running, not found, unreachable)."""

    status = FAILED
