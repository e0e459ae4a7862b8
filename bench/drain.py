"""Drain throughput: 5,000 no-op jobs, one worker process, from first claim to last outcome."""

from __future__ import annotations

import argparse
import signal
import subprocess
import sys
import time

import sqlalchemy as sa

from bench.common import DIALECTS, fresh_database, opened
from orbit.jobs import JobSpec, JobStatus
from orbit.jobs.store.schema import jobs

JOBS = 5_000


def drain(url: str, concurrency: int) -> float:
    with opened(url) as store:
        store.enqueue_many([JobSpec("noop") for _ in range(JOBS)])
        proc = subprocess.Popen(
            [sys.executable, "-m", "bench.worker_process", url, "--concurrency", str(concurrency)]
        )
        deadline = time.monotonic() + 300
        while store.count_by_status()[JobStatus.COMPLETED] < JOBS:
            if time.monotonic() > deadline or proc.poll() is not None:
                raise SystemExit("drain did not finish")
            time.sleep(0.05)
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        with store.engine.connect() as conn:
            first, last = conn.execute(
                sa.select(sa.func.min(jobs.c.started_at), sa.func.max(jobs.c.completed_at))
            ).one()
    return JOBS / (last - first).total_seconds()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dialect", choices=DIALECTS, action="append")
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    for dialect in args.dialect or DIALECTS:
        with fresh_database(dialect) as url:
            rate = drain(url, args.concurrency)
        print(
            f"drain    {dialect:10s} {rate:8.0f} jobs/s  ({JOBS} no-op jobs, one worker "
            f"process, concurrency {args.concurrency})"
        )


if __name__ == "__main__":
    main()
