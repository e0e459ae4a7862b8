"""Procrastinate's app and tasks (``procrastinate --app bench.peers.procrastinate_jobs.app``)."""

from __future__ import annotations

import os

import procrastinate

app = procrastinate.App(
    connector=procrastinate.PsycopgConnector(
        conninfo=os.environ.get("BENCH_URL", "postgresql://localhost/postgres")
    )
)


@app.task(name="noop")
async def noop() -> None:
    """Do nothing."""
    return None
