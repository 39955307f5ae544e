"""`make bench`: every benchmark, each target printed as `name: value (target …) ok|MISS`.

BENCH_SMALL=1 runs each with a small size (tests/workers/test_bench.py), so none of them rots.
"""

import asyncio
import os

from bench import decade, scale, throughput
from bench.report import RESULTS
from workers.exit import hard_exit


async def main(small: bool) -> None:
    print("== throughput and staff latency (dev server) ==", flush=True)
    await throughput.main(centers=3 if small else 40, samples=3 if small else 40)
    print("== history and decade simulation (time-skipping server) ==", flush=True)
    await decade.main(centers=1 if small else 3, fleet=5 if small else 200, fleet_years=2 if small else 10)
    print("== scale (dev server) ==", flush=True)
    await scale.main(lifecycles=20 if small else 500, mails=50 if small else 1000)
    missed = [name for name, ok in RESULTS if not ok]
    print(f"== {len(RESULTS) - len(missed)} of {len(RESULTS)} targets met; missed: {', '.join(missed) or 'none'}")


if __name__ == "__main__":
    asyncio.run(main(os.environ.get("BENCH_SMALL") == "1"))
    hard_exit(0)  # temporalio/sdk-python#300
