"""Cost of one progress update (an UPDATE under the lease plus its event row)."""

from __future__ import annotations

import time

from bench.common import dialect_args, fresh_database, opened, summary_ms
from orbit.jobs import JobSpec

UPDATES = 2_000


def main() -> None:
    args = dialect_args(__doc__ or "")
    for dialect in args.dialects:
        with fresh_database(dialect) as url, opened(url) as store:
            store.enqueue(JobSpec("noop"))
            (job,) = store.claim("bench", None, 1, 300)
            samples = []
            for i in range(UPDATES):
                started = time.perf_counter()
                store.progress(job.lease, (i % 100) + 0.5, "Generating Stories 1/5...")
                samples.append(time.perf_counter() - started)
        print(f"progress {dialect:10s} {summary_ms(samples)}")


if __name__ == "__main__":
    main()
