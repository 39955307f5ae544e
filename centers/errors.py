"""Exit statuses of `centers` and the errors that carry them (defined by the staff layer).

0  done (an accepted action, a started lifecycle, a report written)
1  refused or failed (a rule refused the action, the center already runs, Temporal unreachable...)
2  bad input at the door (unreadable file, malformed JSON, a payload or profile that does not
   validate, a bad command line): nothing was sent and nothing written
"""

from __future__ import annotations

from staff.errors import BAD_INPUT, FAILED, OK, BadInput, Failed, NotFound
from staff.errors import StaffError as CliError

__all__ = ["BAD_INPUT", "FAILED", "OK", "BadInput", "CliError", "Failed", "NotFound"]
