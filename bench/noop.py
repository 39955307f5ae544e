"""The fair ceiling: a workflow that does what a lifecycle does to Temporal, and nothing else.

On start it runs ``start_activities`` no-op activities; each update runs the number of no-op
activities (and local activities) its payload asks for (as many as the lifecycle's action ran, counted from its history);
after every change the main loop re-arms one timer, as the lifecycle's agenda does.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="bench_noop")
async def noop_activity(_: int) -> int:
    return 0


@workflow.defn(name="NoopLifecycle")
class NoopLifecycle:
    def __init__(self) -> None:
        self.revision = 0
        self.done = False

    async def _activities(self, count: int | list[int]) -> None:
        """``count`` activities one after another, or ``[activities, local activities]``."""
        activities, local = (count, 0) if isinstance(count, int) else count
        for i in range(activities):
            await workflow.execute_activity(noop_activity, i, start_to_close_timeout=timedelta(minutes=2))
        for i in range(local):
            await workflow.execute_local_activity(noop_activity, i, start_to_close_timeout=timedelta(seconds=2))

    @workflow.run
    async def run(self, start_activities: int | list[int]) -> int:
        await self._activities(start_activities)
        while not self.done:
            revision = self.revision
            try:
                await workflow.wait_condition(lambda: self.revision != revision or self.done,
                                              timeout=timedelta(days=30))
            except asyncio.TimeoutError:
                pass
        await workflow.wait_condition(workflow.all_handlers_finished)
        return self.revision

    @workflow.update(name="step")
    async def step(self, activities: int | list[int]) -> int:
        await self._activities(activities)
        self.revision += 1
        return self.revision

    @workflow.signal(name="finish")
    def finish(self) -> None:
        self.done = True
