"""Test harness: real Temporal (time-skipping and dev server), real PostgreSQL, real SMTP."""

import os
import sys

import pytest

pytest_plugins = [
    "tests.fixtures.calendar",
    "tests.fixtures.database",
    "tests.fixtures.mail",
    "tests.fixtures.temporal",
]

_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """temporalio/sdk-python#300: end without interpreter teardown, keeping pytest's exit status."""
    if os.environ.get("CENTERS_TEST_NORMAL_EXIT"):
        return
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(_exit_status)
