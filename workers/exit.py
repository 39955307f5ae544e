"""End the process without interpreter teardown.

The Temporal Python SDK has an open defect, temporalio/sdk-python#300
(https://github.com/temporalio/sdk-python/issues/300): a short-lived process that
used a Temporal client, worker or test environment can abort while the interpreter
finalizes, printing

    Fatal Python error: PyGILState_Release: thread state ... must be current when releasing
    Python runtime state: finalizing

and exiting with status 134 (SIGABRT), sometimes 139 (SIGSEGV), instead of its own
status: roughly 1 run in 12 for a client-only script, and nearly half the runs of a
script that started a time-skipping test environment (11 of 24, measured here).
The SDK's Rust (Tokio) threads call back into Python after finalization began.
Skipping finalization with os._exit avoids it. Our entry points therefore do their
cleanup explicitly (worker shutdown, pool close, servers stopped) and end here.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import NoReturn


def hard_exit(code: int) -> NoReturn:
    """Flush stdout, stderr and every logging handler, then `os._exit(code)`.

    atexit handlers and finalizers do not run, so release resources before calling.
    """
    logging.shutdown()  # flushes and closes every handler the logging module knows
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except Exception:  # a closed or broken pipe must not change the exit status
            pass
    os._exit(code)
