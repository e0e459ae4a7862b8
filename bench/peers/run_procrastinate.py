"""Procrastinate (PostgreSQL) on the workload; run with the peers venv's interpreter.

Procrastinate has no progress verb: that figure is left empty.
"""

from __future__ import annotations

import argparse
import sys

import psycopg
from procrastinate.jobs import Status

from bench.peers import method
from bench.peers.procrastinate_jobs import app, noop


class Procrastinate:
    def __init__(self, args: argparse.Namespace) -> None:
        self.url = args.url
        self.observer = psycopg.connect(args.url, autocommit=True)

    async def setup(self) -> None:
        await app.open_async()
        await app.schema_manager.apply_schema_async()

    async def close(self) -> None:
        await app.close_async()
        self.observer.close()

    async def enqueue(self) -> int:
        return await noop.defer_async()

    async def enqueue_bulk(self, n: int) -> bool:
        await noop.batch_defer_async(*({} for _ in range(n)))
        return True

    async def done(self, handle: int) -> bool:
        return await app.job_manager.get_job_status_async(handle) == Status.SUCCEEDED

    async def enqueue_progress(self, updates: int) -> None:
        return None

    async def progress_result(self, handle: int) -> float:
        raise NotImplementedError

    def finished_count(self) -> int:
        row = self.observer.execute(
            "SELECT count(*) FROM procrastinate_jobs WHERE status = 'succeeded'"
        )
        return int(row.fetchone()[0])  # type: ignore[index]

    def worker_command(self, concurrency: int) -> list[str]:
        return [
            sys.executable,
            "-m",
            "procrastinate",
            "--app=bench.peers.procrastinate_jobs.app",
            "worker",
            f"--concurrency={concurrency}",
        ]


if __name__ == "__main__":
    method.main(Procrastinate)
