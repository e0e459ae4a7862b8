"""Enqueue rate: one job per transaction (``JobClient.enqueue``), and in bulk (``enqueue_many``).

Beside the one-by-one rate: this process's CPU time per job, which the database's own
commit latency (and the load others put on a shared server) does not inflate.
"""

from __future__ import annotations

import time

from bench.common import dialect_args, fresh_database, opened
from orbit.jobs import JobClient, JobSpec

SINGLE = 2_000
BULK = 20_000
BATCH = 1_000


def measure(url: str) -> tuple[float, float, float]:
    with opened(url) as store:
        client = JobClient(store)
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(SINGLE):
            client.enqueue("noop", {"n": 1})
        single = SINGLE / (time.perf_counter() - started)
        cpu_us = (time.process_time() - cpu) / SINGLE * 1e6
        specs = [JobSpec("noop", {"n": i}) for i in range(BATCH)]
        started = time.perf_counter()
        for _ in range(BULK // BATCH):
            store.enqueue_many(specs)
        bulk = BULK / (time.perf_counter() - started)
    return single, cpu_us, bulk


def main() -> None:
    args = dialect_args(__doc__ or "")
    for dialect in args.dialects:
        with fresh_database(dialect) as url:
            single, cpu_us, bulk = measure(url)
        print(
            f"enqueue  {dialect:10s} one-by-one {single:8.0f} jobs/s ({cpu_us:4.0f} µs CPU/job)   "
            f"bulk ({BATCH}/tx) {bulk:8.0f} jobs/s"
        )


if __name__ == "__main__":
    main()
