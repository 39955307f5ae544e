"""Where a cached lifecycle's memory goes: `python -m bench.memory_profile [N] [sdk|ours|unsandboxed] [rss]`.

Holds N lifecycles open in one worker's sticky cache (as bench/scale.py does) and attributes the
growth: RSS (psutil); tracemalloc by file and by 3-frame traceback (25 frames were too slow here);
live objects by type (gc); and the modules each cached run's sandbox imported for itself. ``rss``
skips tracemalloc, whose own bookkeeping inflates RSS. Findings: docs/performance.md, "Scale".
"""

from __future__ import annotations

import asyncio
import collections
import gc
import sys
import time
import tracemalloc
from pathlib import Path

import psutil
from temporalio.worker import UnsandboxedWorkflowRunner

from bench.scale import opened
from bench.stack import Stack, stack
from workers.exit import hard_exit
from workers.sandbox import strict_runner, workflow_runner

RUNNERS = {"sdk": strict_runner, "ours": workflow_runner, "unsandboxed": UnsandboxedWorkflowRunner}
ROOT = str(Path(__file__).resolve().parents[1]) + "/"


def type_counts() -> collections.Counter[str]:
    return collections.Counter(f"{type(o).__module__}.{type(o).__qualname__}" for o in gc.get_objects())


def top(lines: list[tuple[str, float]], n: int) -> None:
    for name, value in lines[:n]:
        print(f"    {value:10.1f}  {name}")


def where(filename: str) -> str:
    return filename.split("site-packages/")[-1].removeprefix(ROOT)


def private_modules() -> tuple[int, collections.Counter[str]]:
    """How many sandboxed runs are cached, and how many of them imported each module for themselves
    (the SDK keeps a run's modules in its importer's ``new_modules``; a passed-through one is the host's)."""
    instances = [o for o in gc.get_objects()
                 if type(o).__qualname__ == "_Instance" and type(o).__module__.endswith("workflow_sandbox._runner")]
    own: collections.Counter[str] = collections.Counter()
    for instance in instances:
        own.update(name for name, module in instance.importer.new_modules.items()  # type: ignore[attr-defined]
                   if sys.modules.get(name) is not module)
    return len(instances), own


async def rss_only(s: Stack, which: str, lifecycles: int) -> None:
    me = psutil.Process()
    before = me.memory_info().rss
    began = time.perf_counter()
    await opened(s, lifecycles)
    took = time.perf_counter() - began
    gc.collect()
    rss = me.memory_info().rss
    server = psutil.Process(s.server_pid).memory_info().rss if s.server_pid else 0
    print(f"== {which}: {lifecycles} lifecycles opened in {took:.0f} s; worker RSS {before / 2**20:.0f} -> "
          f"{rss / 2**20:.0f} MiB, +{(rss - before) / lifecycles / 1024:.0f} KiB each; "
          f"dev server RSS {server / 2**20:.0f} MiB", flush=True)


async def traced(s: Stack, which: str, lifecycles: int) -> None:
    me = psutil.Process()
    tracemalloc.start(3)
    types_before, snap_before, rss_before = type_counts(), tracemalloc.take_snapshot(), me.memory_info().rss
    await opened(s, lifecycles)
    gc.collect()
    rss_grown = me.memory_info().rss - rss_before
    snap_after, types_after = tracemalloc.take_snapshot(), type_counts()
    tracemalloc.stop()
    by_file = snap_after.compare_to(snap_before, "filename")
    python = sum(st.size_diff for st in by_file)
    print(f"== {which}: {lifecycles} lifecycles; RSS +{rss_grown / 2**20:.1f} MiB = {rss_grown / lifecycles / 1024:.0f} "
          f"KiB each; tracemalloc +{python / 2**20:.1f} MiB = {python / lifecycles / 1024:.0f} KiB each "
          "(the rest: sdk-core, protobuf, allocator, tracemalloc itself)")
    print("  tracemalloc growth by file, KiB per lifecycle:")
    top([(where(st.traceback[0].filename), st.size_diff / lifecycles / 1024) for st in by_file], 25)
    print("  tracemalloc growth by 3-frame traceback, KiB per lifecycle:")
    top([(" <- ".join(f"{where(fr.filename)}:{fr.lineno}" for fr in reversed(st.traceback)),
          st.size_diff / lifecycles / 1024) for st in snap_after.compare_to(snap_before, "traceback")], 12)
    print("  live objects by type, count per lifecycle:")
    grown = [(name, (types_after[name] - types_before[name]) / lifecycles) for name in types_after]
    top(sorted(grown, key=lambda kv: -kv[1]), 25)
    runs, own = private_modules()
    print(f"  modules each sandbox imported for itself ({runs} cached runs), share of runs:")
    top(sorted(((name, count / max(1, runs)) for name, count in own.items())), 200)


async def main(lifecycles: int, which: str, trace: bool) -> None:
    async with stack("dev", max_cached_workflows=lifecycles + 100, workflow_runner=RUNNERS[which]()) as s:
        await opened(s, min(50, lifecycles))  # warm: imports, pools, the workflow-task threads
        gc.collect()
        await (traced if trace else rss_only)(s, which, lifecycles)


if __name__ == "__main__":
    args = sys.argv[1:]
    asyncio.run(main(int(args[0]) if args else 200, args[1] if len(args) > 1 else "ours", trace=args[2:] != ["rss"]))
    hard_exit(0)
