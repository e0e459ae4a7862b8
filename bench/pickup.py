"""Pickup latency, segment by segment: an idle worker in another process, one job at a time.

The peers method (``bench/peers/method.py``): a worker at concurrency 10 sits idle; after
a random 20-80 ms gap one ``noop`` job is enqueued and the client polls its status
(``store.get``) every 1 ms until it sees ``completed``. Besides the total (enqueue call
to the client seeing completed), the job's own timestamps split it, one host, one clock:

- ``enqueue``: the enqueue call itself;
- ``wake``: ``created_at`` -> ``started_at`` (the worker hears of the job and claims it);
- ``run``: ``started_at`` -> ``completed_at`` (the no-op and the outcome write);
- ``seen``: ``completed_at`` -> the client's read that saw it (commit, then the poll).
"""

from __future__ import annotations

import random
import signal
import subprocess
import sys
import time
import uuid

from bench.common import dialect_args, fresh_database, opened, summary_ms
from orbit.jobs import Job, JobSpec, JobStatus, SQLStore

JOBS = 200
SEGMENTS = ("enqueue", "wake", "run", "seen", "total")


def _until_completed(store: SQLStore, job_id: uuid.UUID, deadline: float) -> tuple[Job, float]:
    while True:
        job = store.get(job_id)
        if job.status is JobStatus.COMPLETED:
            return job, time.time()
        if time.monotonic() > deadline:
            raise SystemExit(f"job {job_id} not completed in time: {job.status}")
        time.sleep(0.001)


def measure(url: str, jobs: int) -> dict[str, list[float]]:
    samples: dict[str, list[float]] = {name: [] for name in SEGMENTS}
    with opened(url) as store:
        command = [sys.executable, "-m", "bench.worker_process", url, "--concurrency", "10"]
        proc = subprocess.Popen(command)
        try:
            warm = store.enqueue(JobSpec("noop"))
            _until_completed(store, warm.id, time.monotonic() + 30)
            for _ in range(jobs):
                time.sleep(random.uniform(0.02, 0.08))
                begun = time.perf_counter()
                job_id = store.enqueue(JobSpec("noop")).id
                enqueued = time.perf_counter()
                job, seen_at = _until_completed(store, job_id, time.monotonic() + 10)
                done = time.perf_counter()
                assert job.started_at is not None and job.completed_at is not None
                for name, seconds in (
                    ("enqueue", enqueued - begun),
                    ("wake", (job.started_at - job.created_at).total_seconds()),
                    ("run", (job.completed_at - job.started_at).total_seconds()),
                    ("seen", seen_at - job.completed_at.timestamp()),
                    ("total", done - begun),
                ):
                    samples[name].append(seconds)
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(30)
    return samples


def main() -> None:
    args = dialect_args(__doc__ or "", jobs=JOBS)
    for dialect in args.dialects:
        with fresh_database(dialect) as url:
            samples = measure(url, args.jobs)
        for name in SEGMENTS:
            print(f"pickup {name:8s} {dialect:10s} {summary_ms(samples[name])}")


if __name__ == "__main__":
    main()
