"""A worker process with a ``noop`` handler, for the drain and pickup benchmarks."""

from __future__ import annotations

import argparse
import asyncio

from orbit.jobs import JobContext, JobRegistry, Worker, WorkerConfig, open_store


def registry() -> JobRegistry:
    jobs = JobRegistry()

    @jobs.job("noop")
    async def noop(ctx: JobContext, **_: object) -> None:
        return None

    return jobs


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=100)
    args = parser.parse_args()
    store = open_store(args.url)
    worker = Worker(store, registry(), WorkerConfig(concurrency=args.concurrency))
    worker.install_signal_handlers()
    await worker.run()
    store.close()


if __name__ == "__main__":
    asyncio.run(main())
