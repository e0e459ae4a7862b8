"""Job handlers for the CLI tests, loaded with ``--jobs-module tests.integration.cli_jobs``."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from orbit.jobs import Fail, JobContext, JobRegistry

registry = JobRegistry()


@registry.job("cli_steps")
async def cli_steps(ctx: JobContext, n: int, pause: float = 0.0) -> dict[str, Any]:
    """Report ``n`` progress steps, ``pause`` seconds apart."""
    for i in range(1, n + 1):
        await asyncio.sleep(pause)
        await ctx.progress(100 * i / n, f"Step {i}/{n}")
    return {"steps": n, "pid": os.getpid()}


@registry.job("cli_fail")
async def cli_fail(ctx: JobContext, reason: str) -> None:
    """Fail at once, without retries."""
    raise Fail(reason)


not_a_registry = {"cli_steps": cli_steps}
