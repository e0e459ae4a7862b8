"""Enqueue rate: one job per transaction, and in bulk (``enqueue_many``)."""

from __future__ import annotations

import time

from bench.common import dialect_args, fresh_database, opened
from orbit.jobs import JobSpec

SINGLE = 2_000
BULK = 20_000
BATCH = 1_000


def measure(url: str) -> tuple[float, float]:
    with opened(url) as store:
        spec = JobSpec("noop", {"n": 1})
        started = time.perf_counter()
        for _ in range(SINGLE):
            store.enqueue(spec)
        single = SINGLE / (time.perf_counter() - started)
        specs = [JobSpec("noop", {"n": i}) for i in range(BATCH)]
        started = time.perf_counter()
        for _ in range(BULK // BATCH):
            store.enqueue_many(specs)
        bulk = BULK / (time.perf_counter() - started)
    return single, bulk


def main() -> None:
    args = dialect_args(__doc__ or "")
    for dialect in args.dialects:
        with fresh_database(dialect) as url:
            single, bulk = measure(url)
        print(
            f"enqueue  {dialect:10s} one-by-one {single:8.0f} jobs/s   "
            f"bulk ({BATCH}/tx) {bulk:8.0f} jobs/s"
        )


if __name__ == "__main__":
    main()
