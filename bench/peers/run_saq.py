"""SAQ (PostgreSQL queue) on the workload; run with the peers venv's interpreter."""

from __future__ import annotations

import argparse
import sys

import psycopg
from saq import Job, Status

from bench.peers import method
from bench.peers.saq_jobs import queue


class Saq:
    def __init__(self, args: argparse.Namespace) -> None:
        self.url = args.url
        self.queue = queue(args.url)
        self.observer = psycopg.connect(args.url, autocommit=True)

    async def setup(self) -> None:
        await self.queue.connect()

    async def close(self) -> None:
        await self.queue.disconnect()
        self.observer.close()

    async def enqueue(self) -> Job:
        job = await self.queue.enqueue("noop")
        assert job is not None
        return job

    async def enqueue_bulk(self, n: int) -> bool:
        return False

    async def done(self, handle: Job) -> bool:
        job = await self.queue.job(handle.key)
        return job is not None and job.status == Status.COMPLETE

    async def enqueue_progress(self, updates: int) -> Job:
        job = await self.queue.enqueue("progress", updates=updates, timeout=600)
        assert job is not None
        return job

    async def progress_result(self, handle: Job) -> float:
        job = await self.queue.job(handle.key)
        assert job is not None
        return float(job.result)

    def finished_count(self) -> int:
        row = self.observer.execute("SELECT count(*) FROM saq_jobs WHERE status = 'complete'")
        return int(row.fetchone()[0])  # type: ignore[index]

    def worker_command(self, concurrency: int) -> list[str]:
        return [sys.executable, "-m", "saq", "bench.peers.saq_jobs.settings"]


if __name__ == "__main__":
    method.main(Saq)
