"""Job handlers for the change-feed test: ``orbit serve --jobs-module tests.e2e.feed_jobs``."""

from __future__ import annotations

import asyncio

from orbit.jobs import Cancelled, JobContext, JobRegistry

registry = JobRegistry()


@registry.job("hold")
async def hold(ctx: JobContext) -> None:
    """Report progress, then run until a client cancels (the worker sets the flag)."""
    await ctx.progress(10, "holding")
    while not ctx.cancelled:
        await asyncio.sleep(0.05)
    raise Cancelled("released")
