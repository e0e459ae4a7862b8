"""Huey (SQLite storage) on the workload; run with the peers venv's interpreter.

Huey's status read is its result handle (``result.get(preserve=True)``); it has no bulk
enqueue and no progress verb, so those figures are left empty. The consumer runs 10
(or 8) worker threads and polls its queue from 10 ms, backing off to at most 100 ms.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bench.peers import method
from bench.peers.huey_jobs import huey, noop


class Huey:
    def __init__(self, args: argparse.Namespace) -> None:
        self.url = args.url
        self.observer = sqlite3.connect(args.url.removeprefix("sqlite:///"))

    async def setup(self) -> None:
        return None

    async def close(self) -> None:
        self.observer.close()

    async def enqueue(self) -> Any:
        return noop()

    async def enqueue_bulk(self, n: int) -> bool:
        return False

    async def done(self, handle: Any) -> bool:
        return handle.get(preserve=True) is not None

    async def enqueue_progress(self, updates: int) -> None:
        return None

    async def progress_result(self, handle: Any) -> float:
        raise NotImplementedError

    def finished_count(self) -> int:
        return int(self.observer.execute("SELECT count(*) FROM kv").fetchone()[0])

    def worker_command(self, concurrency: int) -> list[str]:
        consumer = Path(sys.executable).with_name("huey_consumer")
        return [
            str(consumer),
            "bench.peers.huey_jobs.huey",
            f"--workers={concurrency}",
            "--worker-type=thread",
            "--delay=0.01",
            "--max-delay=0.1",
        ]


if __name__ == "__main__":
    assert huey.storage is not None
    method.main(Huey)
