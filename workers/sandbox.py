"""The workflow sandbox every Worker of ours runs: the worker process, the benchmarks and the test
fixtures build their runner here, so the tests run what production runs.

Why: the SDK's sandbox re-imports, for *every* workflow run it holds in its cache, each module that
is not passed through, and always the workflow's own module. Measured (bench/memory_profile.py,
docs/performance.md "Scale"): re-executing workflows/lifecycle.py per run (its class, ~35 handler
functions and definitions, their signatures) was 140 of the 191 KiB of Python memory a cached
lifecycle held. Our models and rules were already passed through by lifecycle.py's import block.

Passing a module through changes no command, so every saved history replays. The price: code in a
passed-through module is not wrapped in the sandbox's runtime checks (a `datetime.now()` in
lifecycle.py would no longer be refused while running). ``strict_runner`` keeps that check: every
saved history and every history a test produces is replayed under the SDK's full sandbox
(tests/fixtures/temporal.py ``replayer``, tests/workflows/test_replay.py), so such a call fails there.
"""

from __future__ import annotations

from temporalio.worker import WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

# All deterministic at import and in use: constants and pure functions (clock, randomness and I/O are
# reached only through the workflow API or activities). The third-party ones are what our models and
# rules import (pydantic is passed through by the SDK already); listed so that a lazy import inside a
# run (EmailStr loads email_validator on first use) never loads a private copy into that run's sandbox.
PASSTHROUGH_MODULES = (
    "workflows",  # the workflow modules themselves: module state is constants only
    "models",
    "rules",
    "email_validator",
    "stdnum",
    "chinese_calendar",
)


def workflow_runner() -> WorkflowRunner:
    """What our Workers run: the SDK's sandbox with the deterministic modules above passed through."""
    return SandboxedWorkflowRunner(
        restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES))


def strict_runner() -> WorkflowRunner:
    """The SDK's default sandbox (nothing of ours passed through beyond lifecycle.py's import block):
    replays run under it, so a non-deterministic call in workflow code is refused there; bench/scale.py
    compares against it."""
    return SandboxedWorkflowRunner()
