"""Enqueue rate: one job per transaction (``JobClient.enqueue``), and in bulk (``enqueue_many``).

Beside the one-by-one rate: this process's CPU time per job, which the database's own
commit latency (and the load others put on a shared server) does not inflate, and the
latency of each one-by-one enqueue (its tail is what an HTTP request that enqueues pays).
"""

from __future__ import annotations

import time

from bench.common import dialect_args, fresh_database, opened, percentile, summary_ms
from orbit.jobs import JobClient, JobSpec

SINGLE = 5_000
BULK = 20_000
BATCH = 1_000


def measure(url: str) -> tuple[float, float, float, list[float]]:
    with opened(url) as store:
        client = JobClient(store)
        latencies = []
        started, cpu = time.perf_counter(), time.process_time()
        for _ in range(SINGLE):
            sent = time.perf_counter()
            client.enqueue("noop", {"n": 1})
            latencies.append(time.perf_counter() - sent)
        single = SINGLE / (time.perf_counter() - started)
        cpu_us = (time.process_time() - cpu) / SINGLE * 1e6
        specs = [JobSpec("noop", {"n": i}) for i in range(BATCH)]
        started = time.perf_counter()
        for _ in range(BULK // BATCH):
            store.enqueue_many(specs)
        bulk = BULK / (time.perf_counter() - started)
    return single, cpu_us, bulk, latencies


def main() -> None:
    args = dialect_args(__doc__ or "")
    for dialect in args.dialects:
        with fresh_database(dialect) as url:
            single, cpu_us, bulk, latencies = measure(url)
        print(
            f"enqueue  {dialect:10s} one-by-one {single:8.0f} jobs/s ({cpu_us:4.0f} µs CPU/job)   "
            f"bulk ({BATCH}/tx) {bulk:8.0f} jobs/s"
        )
        tail = percentile([s * 1000 for s in latencies], 99.9)
        latency = f"{summary_ms(latencies)}; p99.9 {tail:.2f} ms"
        print(f"enqueue  {dialect:10s} one-by-one latency: {latency}")


if __name__ == "__main__":
    main()
