"""A registry that knows nothing of the Orbit app, for ``orbit worker --app`` tests."""

from __future__ import annotations

import os
import sys

from orbit.jobs import JobContext, JobRegistry

registry = JobRegistry()


@registry.job("engine_echo", max_attempts=2)
async def engine_echo(ctx: JobContext, text: str) -> dict[str, object]:
    await ctx.progress(50, "Echoing...")
    # What the worker process had imported: the engine-only worker must not build the app.
    loaded = sorted(m for m in ("orbit.planning", "orbit.api", "orbit.ai") if m in sys.modules)
    return {"text": text, "pid": os.getpid(), "app_modules": loaded}
