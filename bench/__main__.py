"""`make bench`: run every benchmark and print its figures."""

import asyncio

from bench import history_events
from workers.exit import hard_exit

if __name__ == "__main__":
    asyncio.run(history_events.main())
    hard_exit(0)  # temporalio/sdk-python#300
