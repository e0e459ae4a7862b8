"""Orbit on the workload, through its public API only: ``JobClient`` and ``orbit worker``.

Run with the project's interpreter: ``python -m bench.peers.run_orbit URL`` (SQLite or
PostgreSQL URL; the database is migrated here first).
"""

from __future__ import annotations

import argparse
import sys
import uuid
from pathlib import Path

import sqlalchemy as sa

from bench.peers import method
from orbit.jobs import JobClient, JobSpec, JobStatus, migrate, open_store


class Orbit:
    def __init__(self, args: argparse.Namespace) -> None:
        self.url = args.url
        self.store = open_store(args.url)
        self.client = JobClient(self.store)
        self._count = sa.text("SELECT count(*) FROM jobs WHERE status = 'completed'")

    async def setup(self) -> None:
        migrate.upgrade(self.store.engine)

    async def close(self) -> None:
        await self.store.feed.close()
        self.store.close()

    async def enqueue(self) -> uuid.UUID:
        return self.client.enqueue("noop").id

    async def enqueue_bulk(self, n: int) -> bool:
        self.client.enqueue_many([JobSpec("noop") for _ in range(n)])
        return True

    async def done(self, handle: uuid.UUID) -> bool:
        return self.client.get(handle).status is JobStatus.COMPLETED

    async def enqueue_progress(self, updates: int) -> uuid.UUID:
        return self.client.enqueue("progress", {"updates": updates}).id

    async def progress_result(self, handle: uuid.UUID) -> float:
        result = self.client.get(handle).result
        assert isinstance(result, float)
        return result

    def finished_count(self) -> int:
        with self.store.engine.connect() as conn:
            return int(conn.execute(self._count).scalar_one())

    def worker_command(self, concurrency: int) -> list[str]:
        orbit = Path(sys.executable).with_name("orbit")
        return [
            str(orbit),
            "worker",
            "--app",
            "bench.peers.orbit_jobs:registry",
            "--database-url",
            self.url,
            "--concurrency",
            str(concurrency),
        ]


if __name__ == "__main__":
    method.main(Orbit)
