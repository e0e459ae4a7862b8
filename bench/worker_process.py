"""A worker process with a ``noop`` handler, for the drain and pickup benchmarks."""

from __future__ import annotations

import argparse
import asyncio

from bench.jobs import registry
from orbit.jobs import Worker, WorkerConfig, open_store


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    store = open_store(args.url)
    worker = Worker(store, registry, WorkerConfig(concurrency=args.concurrency))
    worker.install_signal_handlers()
    await worker.run()
    store.close()


if __name__ == "__main__":
    asyncio.run(main())
