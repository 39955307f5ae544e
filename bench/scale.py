"""Scale: worker memory per cached lifecycle, and a burst of 1,000 reminders through the outbox.

Memory: lifecycles started on the dev server and held open in the worker's sticky cache; the
worker runs in this process, so its resident memory is measured before and after (psutil), side by
side with a worker on the SDK's default sandbox. `python -m bench.memory_profile` says where it goes.
Mail: 1,000 outbox rows (one reminder each, as record_outcomes writes them) delivered by the
mailer to a local SMTP sink; the time until the last one arrives, and duplicates by Message-ID.
"""

from __future__ import annotations

import asyncio
import gc
import time
import uuid
from datetime import UTC, datetime, timedelta

import psutil
from temporalio.service import RPCError
from temporalio.worker import Worker

from activities.registry import build_activities
from bench.report import note, target
from bench.stack import TASK_QUEUE, Stack, stack
from db.outcomes import record_batch
from models.effects import Email, OutcomeBatch
from tests.fixtures import factories as f
from workers.sandbox import strict_runner
from workflows.lifecycle import CenterLifecycle

WORKER_LIMIT_MIB = 1024
SDK_QUEUE = "bench-sdk-sandbox"  # the comparison worker's queue: the SDK's default sandbox


async def opened(s: Stack, count: int, chunk: int = 50, task_queue: str = TASK_QUEUE) -> None:
    """Start ``count`` lifecycles, ``chunk`` at a time, each answered a query: then the worker holds
    it in its sticky cache, waiting for its next deadline (a query is answered by the worker)."""
    for first in range(0, count, chunk):
        handles = await asyncio.gather(*(s.start_center(f.profile(f"scale-{uuid.uuid4().hex[:10]}"), task_queue)
                                         for _ in range(min(chunk, count - first))))
        for handle in handles:
            for attempt in range(10):
                try:
                    await handle.query("state", rpc_timeout=timedelta(seconds=30))
                    break
                except RPCError:  # a busy shared machine: the first workflow task is still queued
                    await asyncio.sleep(1 + attempt)


async def grown_by(s: Stack, lifecycles: int, task_queue: str) -> tuple[int, float]:
    """Bytes of resident memory this process gained while ``lifecycles`` more were cached; seconds taken."""
    me = psutil.Process()
    gc.collect()
    before = me.memory_info().rss
    began = time.perf_counter()
    await opened(s, lifecycles, task_queue=task_queue)
    took = time.perf_counter() - began
    gc.collect()
    return me.memory_info().rss - before, took


async def memory(s: Stack, lifecycles: int) -> None:
    """Side by side in one worker process: the same number of lifecycles cached by a worker with the
    SDK's default sandbox (each run re-imports the workflow module) and by ours (workers/sandbox.py).
    Both workers stay up, so neither phase reuses memory the other freed."""
    async with Worker(s.client, task_queue=SDK_QUEUE, workflows=[CenterLifecycle], workflow_runner=strict_runner(),
                      activities=build_activities(s.pool, s.settings), max_cached_workflows=lifecycles + 100):
        # Warm both with one full chunk: imports, pools, and each worker's workflow-task threads (the SDK
        # starts a thread per concurrent task, up to 500), which would otherwise count as cache growth.
        await opened(s, min(50, lifecycles))
        await opened(s, min(50, lifecycles), task_queue=SDK_QUEUE)
        base = psutil.Process().memory_info().rss
        sdk, sdk_took = await grown_by(s, lifecycles, SDK_QUEUE)
        ours, took = await grown_by(s, lifecycles, TASK_QUEUE)
    server = psutil.Process(s.server_pid).memory_info().rss if s.server_pid else 0
    per, sdk_per = ours / lifecycles, sdk / lifecycles
    note(f"{lifecycles} lifecycles per worker; SDK default sandbox: +{sdk / 2**20:.0f} MiB = {sdk_per / 1024:.0f} KiB "
         f"each ({sdk_took:.1f} s); ours (workers/sandbox.py): +{ours / 2**20:.0f} MiB = {per / 1024:.0f} KiB each "
         f"({took:.1f} s); ratio ours/SDK {per / sdk_per if sdk_per > 0 else float('nan'):.2f}; "
         f"worker before {base / 2**20:.0f} MiB; dev server RSS {server / 2**20:.0f} MiB")
    projected = (base + per * 10_000) / 2**20
    note(f"SDK default sandbox would project to {(base + sdk_per * 10_000) / 2**20:.0f} MiB for 10,000")
    target("worker_rss_10000_cached", f"{projected:.0f} MiB (projected from {lifecycles})", f"< {WORKER_LIMIT_MIB} MiB",
           projected < WORKER_LIMIT_MIB)


async def mail_burst(s: Stack, count: int) -> None:
    """The reminders fall due together: their outbox rows are written (as record_outcomes writes
    them) and the worker's outbox dispatcher delivers them; clocked until the last one arrives."""
    now = datetime.now(UTC)
    mail_dir = s.workdir / "mail"
    already = len(list(mail_dir.glob("*.eml")))
    began = time.perf_counter()
    async with s.pool.acquire() as conn:
        for i in range(count):
            center = f"burst-{uuid.uuid4().hex[:6]}-{i:04d}"
            await record_batch(conn, OutcomeBatch(center_id=center, emails=[Email(
                key=f"{center}:1:reminder-{now:%Y%m%d}", center_id=center, to=[f"contact{i}@center.example"],
                subject=f"[PD9] 提醒 / reminder — {center}", body="年度报告截止前7天提醒\n", rule_id="PD9")]))
    while len(list(mail_dir.glob("*.eml"))) < already + count and time.perf_counter() - began < 600:
        await asyncio.sleep(0.2)
    took = time.perf_counter() - began
    await asyncio.sleep(2)  # anything sent twice would arrive now
    ids = [line for p in mail_dir.glob("*.eml")
           for line in p.read_text(errors="replace").splitlines() if line.lower().startswith("message-id:")]
    duplicates = len(ids) - len(set(ids))
    note(f"{count} reminders: {len(ids) - already} received in {took:.1f} s, {duplicates} duplicates by Message-ID")
    target("mail_burst_1000_seconds", f"{took * 1000 / count:.1f} s per 1,000", "< 120 s", took * 1000 / count < 120)
    target("mail_burst_duplicates", str(duplicates), "0", duplicates == 0 and len(ids) == already + count)


async def main(lifecycles: int = 500, mails: int = 1000) -> None:
    async with stack("dev", max_cached_workflows=max(10_000, lifecycles + 100)) as s:
        await memory(s, lifecycles)
        await mail_burst(s, mails)
