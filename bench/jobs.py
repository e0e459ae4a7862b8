"""Job handlers for benchmarks, importable as ``--jobs-module bench.jobs:registry``."""

from __future__ import annotations

from orbit.jobs import JobContext, JobRegistry

registry = JobRegistry()


@registry.job("noop")
async def noop(ctx: JobContext, **_: object) -> None:
    """Do nothing: measures the engine, not the work."""
    return None
