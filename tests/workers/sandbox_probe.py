"""A workflow that reads the wall clock: what the full sandbox refuses (tests/workers/test_sandbox.py)."""

from __future__ import annotations

from datetime import datetime

from temporalio import workflow


@workflow.defn(name="ReadsTheClock")
class ReadsTheClock:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()  # non-deterministic on purpose: the check must catch it
