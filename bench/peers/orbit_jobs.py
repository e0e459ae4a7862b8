"""Orbit's handlers for the peers workload (``--app bench.peers.orbit_jobs:registry``)."""

from __future__ import annotations

import time

from orbit.jobs import JobContext, JobRegistry

registry = JobRegistry()


@registry.job("noop")
async def noop(ctx: JobContext, **_: object) -> None:
    """Do nothing: measures the engine, not the work."""
    return None


@registry.job("progress")
async def progress(ctx: JobContext, updates: int = 100, **_: object) -> float:
    """Report progress ``updates`` times; returns the mean milliseconds per report."""
    started = time.perf_counter()
    for i in range(updates):
        await ctx.progress(100 * i / updates, f"step {i + 1}/{updates}")
    return (time.perf_counter() - started) / updates * 1000
