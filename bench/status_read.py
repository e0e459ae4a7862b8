"""Cost of one status read (``JobClient.get``), the call a polling client makes."""

from __future__ import annotations

import time

from bench.common import dialect_args, fresh_database, opened, summary_ms
from orbit.jobs import JobClient, JobSpec

READS = 5_000


def main() -> None:
    args = dialect_args(__doc__ or "")
    for dialect in args.dialects:
        with fresh_database(dialect) as url, opened(url) as store:
            client = JobClient(store)
            job_id = client.enqueue("noop", {"n": 1}).id
            store.enqueue_many([JobSpec("noop") for _ in range(1000)])
            for _ in range(100):
                client.get(job_id)  # warm: pool, compiled statement, prepared plan
            samples = []
            for _ in range(READS):
                started = time.perf_counter()
                client.get(job_id)
                samples.append(time.perf_counter() - started)
        print(f"get      {dialect:10s} {summary_ms(samples)}")


if __name__ == "__main__":
    main()
