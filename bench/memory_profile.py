"""Where a cached lifecycle's memory goes: `python -m bench.memory_profile [N] [sdk|ours]`.

Holds N lifecycles open in one worker's sticky cache (as bench/scale.py does) and attributes the
growth: RSS (psutil), tracemalloc grouped by file (1 frame: deeper traces were too slow here), live
objects by type (gc), and what each cached run's sandbox imported for itself.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import sys
import tracemalloc

import psutil

from bench.scale import opened
from bench.stack import stack
from workers.exit import hard_exit
from workers.sandbox import strict_runner, workflow_runner


def type_counts() -> collections.Counter[str]:
    return collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


def sandbox_instances() -> list[object]:
    return [o for o in gc.get_objects()
            if type(o).__qualname__ == "_Instance" and type(o).__module__.endswith("workflow_sandbox._runner")]


def top(lines: list[tuple[str, float]], n: int) -> None:
    for name, value in lines[:n]:
        print(f"    {value:10.1f}  {name}")


async def main(lifecycles: int, which: str) -> None:
    runner = strict_runner() if which == "sdk" else workflow_runner()
    async with stack("dev", max_cached_workflows=lifecycles + 100, workflow_runner=runner) as s:
        me = psutil.Process()
        await opened(s, 5)
        gc.collect()
        tracemalloc.start(1)
        types_before = type_counts()
        snap_before = tracemalloc.take_snapshot()
        rss_before = me.memory_info().rss
        await opened(s, lifecycles)
        gc.collect()
        rss_grown = me.memory_info().rss - rss_before
        snap_after = tracemalloc.take_snapshot()
        types_after = type_counts()
        traced = sum(st.size_diff for st in snap_after.compare_to(snap_before, "filename"))
        print(f"== {which}: {lifecycles} lifecycles; RSS +{rss_grown / 2**20:.1f} MiB = "
              f"{rss_grown / lifecycles / 1024:.0f} KiB each; tracemalloc +{traced / 2**20:.1f} MiB = "
              f"{traced / lifecycles / 1024:.0f} KiB each (the rest: Rust core, allocator)")
        print("  tracemalloc growth by file, KiB per lifecycle:")
        stats = snap_after.compare_to(snap_before, "filename")
        top([(st.traceback[0].filename.split("site-packages/")[-1], st.size_diff / lifecycles / 1024)
             for st in stats], 25)
        print("  live objects by type, count per lifecycle:")
        grown = [(name, (types_after[name] - types_before[name]) / lifecycles) for name in types_after]
        top(sorted(grown, key=lambda kv: -kv[1]), 25)
        instances = sandbox_instances()
        own = collections.Counter()
        for instance in instances:
            own.update(name for name, mod in instance.importer.new_modules.items()  # type: ignore[attr-defined]
                       if sys.modules.get(name) is not mod)
        print(f"  modules each sandbox imported for itself ({len(instances)} sandboxes):")
        top(sorted(((name, count / max(1, len(instances))) for name, count in own.items()), key=lambda kv: kv[0]), 200)
        tracemalloc.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200, sys.argv[2] if len(sys.argv) > 2 else "ours"))
    hard_exit(0)
