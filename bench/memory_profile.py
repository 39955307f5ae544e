"""Where a cached lifecycle's memory goes: `python -m bench.memory_profile [N] [sdk|ours|unsandboxed] [rss]`.

Holds N lifecycles open in one worker's sticky cache (as bench/scale.py does) and attributes the
growth: RSS (psutil), tracemalloc grouped by file and by 3-frame traceback (25 frames were too slow here), live
objects by type (gc), and what each cached run's sandbox imported for itself. ``rss`` skips
tracemalloc, whose own bookkeeping inflates the RSS figure.
"""

from __future__ import annotations

import asyncio
import collections
import gc
import sys
import time
import tracemalloc

import psutil

from bench.scale import opened
from temporalio.worker import UnsandboxedWorkflowRunner

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


async def main(lifecycles: int, which: str, traced: bool) -> None:
    runner = {"sdk": strict_runner, "ours": workflow_runner, "unsandboxed": UnsandboxedWorkflowRunner}[which]()
    async with stack("dev", max_cached_workflows=lifecycles + 100, workflow_runner=runner) as s:
        me = psutil.Process()
        await opened(s, min(50, lifecycles))  # warm: imports, pools, the workflow-task threads
        gc.collect()
        if not traced:
            rss_before = me.memory_info().rss
            began = time.perf_counter()
            await opened(s, lifecycles)
            took = time.perf_counter() - began
            gc.collect()
            rss = me.memory_info().rss
            server = psutil.Process(s.server_pid).memory_info().rss if s.server_pid else 0
            print(f"== {which}: {lifecycles} lifecycles opened in {took:.0f} s; worker RSS {rss_before / 2**20:.0f} -> "
                  f"{rss / 2**20:.0f} MiB, +{(rss - rss_before) / lifecycles / 1024:.0f} KiB each; "
                  f"dev server RSS {server / 2**20:.0f} MiB", flush=True)
            return
        tracemalloc.start(3)
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
        print("  tracemalloc growth by 3-frame traceback, KiB per lifecycle (top 12):")
        for st in snap_after.compare_to(snap_before, "traceback")[:12]:
            print(f"    {st.size_diff / lifecycles / 1024:10.1f}  " + " <- ".join(
                f"{fr.filename.split('site-packages/')[-1].split('/work/wt/memory/')[-1]}:{fr.lineno}"
                for fr in reversed(st.traceback)))
        tracemalloc.stop()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200, sys.argv[2] if len(sys.argv) > 2 else "ours",
                     traced=sys.argv[3:] != ["rss"]))
    hard_exit(0)
