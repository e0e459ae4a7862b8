"""Huey's SQLite instance and task (``huey_consumer bench.peers.huey_jobs.huey``)."""

from __future__ import annotations

import os

from huey import SqliteHuey

huey = SqliteHuey(filename=os.environ.get("BENCH_URL", "huey.db").removeprefix("sqlite:///"))


@huey.task()
def noop() -> int:
    """Do nothing; returns 1 so its result (Huey's only status) is stored."""
    return 1
