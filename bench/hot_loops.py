"""One hot call in a loop, for a sampling profiler: ``get``, ``enqueue`` or ``progress``.

Example (``py-spy`` from PyPI; ``bench.top_frames`` summarises its collapsed stacks):
    $ py-spy record -r 500 -f raw -o get.txt -- .venv/bin/python -m bench.hot_loops get sqlite
    $ .venv/bin/python -m bench.top_frames get.txt
"""

from __future__ import annotations

import argparse
import time

from bench.common import DIALECTS, fresh_database, opened
from orbit.jobs import JobClient, JobSpec


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("operation", choices=("get", "enqueue", "progress"))
    parser.add_argument("dialect", choices=DIALECTS)
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with fresh_database(args.dialect) as url, opened(url) as store:
        client = JobClient(store)
        job = client.enqueue("noop", {"n": 1})
        if args.operation == "progress":
            (job,) = store.claim("bench", None, 1, 300)
        calls = 0
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            for _ in range(100):
                if args.operation == "get":
                    client.get(job.id)
                elif args.operation == "enqueue":
                    client.enqueue_spec(JobSpec("noop", {"n": 1}))
                else:
                    store.progress(job.lease, 50.0, "Generating Stories 1/5...")
            calls += 100
        print(f"{args.operation} {args.dialect}: {args.seconds / calls * 1000:.3f} ms/call")


if __name__ == "__main__":
    main()
