"""SAQ's tasks and worker settings (``saq bench.peers.saq_jobs.settings``); PostgreSQL queue."""

from __future__ import annotations

import os
import time
from typing import Any

from saq import Queue


async def noop(ctx: dict[str, Any]) -> None:
    """Do nothing."""
    return None


async def progress(ctx: dict[str, Any], *, updates: int = 100) -> float:
    """Report progress ``updates`` times; the mean milliseconds per report."""
    job = ctx["job"]
    started = time.perf_counter()
    for i in range(updates):
        await job.update(progress=i / updates, meta={"message": f"step {i + 1}/{updates}"})
    return (time.perf_counter() - started) / updates * 1000


def queue(url: str) -> Queue:
    return Queue.from_url(url.replace("postgresql://", "postgres://", 1))


settings = {
    "queue": queue(os.environ.get("BENCH_URL", "postgres://localhost/postgres")),
    "functions": [noop, progress],
    "concurrency": int(os.environ.get("BENCH_CONCURRENCY", "10")),
}
