"""Pickup latency: enqueue -> running, 200 jobs, one idle worker in another process.

Each job is enqueued alone (jobs are spaced 10-30 ms apart, so the worker is idle each
time); latency is ``started_at - created_at`` as written by the two processes, which
share this host's clock.
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time

from bench.common import dialect_args, fresh_database, opened, summary_ms
from orbit.jobs import JobSpec, JobStatus

JOBS = 200


def measure(url: str) -> list[float]:
    with opened(url) as store:
        proc = subprocess.Popen([sys.executable, "-m", "bench.worker_process", url])
        try:
            warm = store.enqueue(JobSpec("noop"))
            deadline = time.monotonic() + 30
            while store.get(warm.id).status is not JobStatus.COMPLETED:
                if time.monotonic() > deadline:
                    raise SystemExit("worker did not start")
                time.sleep(0.05)
            ids = []
            for _ in range(JOBS):
                time.sleep(random.uniform(0.01, 0.03))
                ids.append(store.enqueue(JobSpec("noop")).id)
            time.sleep(0.5)
            samples = []
            for job_id in ids:
                job = store.get(job_id)
                assert job.started_at is not None, "a job was never picked up"
                samples.append((job.started_at - job.created_at).total_seconds())
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    return samples


def main() -> None:
    args = dialect_args(__doc__ or "")
    for dialect in args.dialects:
        with fresh_database(dialect) as url:
            samples = measure(url)
        print(f"pickup   {dialect:10s} {summary_ms(samples)}")


if __name__ == "__main__":
    main()
