"""A worker process for the end-to-end tests: ``python -m tests.e2e.worker_process URL``.

Its handlers record each run in ``e2e_runs`` (so tests can count executions) and can
stall or kill their own process to simulate crashes.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal

import sqlalchemy as sa

from orbit.jobs import JobContext, JobRegistry, Worker, WorkerConfig, open_store

RUNS_DDL = "CREATE TABLE IF NOT EXISTS e2e_runs (job_id VARCHAR(36) NOT NULL, pid INTEGER NOT NULL)"


def build_registry(engine: sa.Engine) -> JobRegistry:
    registry = JobRegistry()

    def record(job_id: object) -> None:
        with engine.begin() as conn:
            conn.execute(
                sa.text("INSERT INTO e2e_runs (job_id, pid) VALUES (:j, :p)"),
                {"j": str(job_id), "p": os.getpid()},
            )

    @registry.job("record_run")
    async def record_run(ctx: JobContext, n: int) -> dict[str, int]:
        await asyncio.to_thread(record, ctx.job_id)
        return {"n": n, "pid": os.getpid()}

    @registry.job("stall_first_attempt")
    async def stall_first_attempt(ctx: JobContext) -> dict[str, int]:
        await asyncio.to_thread(record, ctx.job_id)
        await ctx.progress(10, f"attempt {ctx.attempt} started")
        if ctx.attempt == 1:
            await asyncio.sleep(3600)  # the test SIGKILLs us here
        return {"attempt": ctx.attempt, "pid": os.getpid()}

    @registry.job("paced")
    async def paced(ctx: JobContext, steps: int, pause: float) -> dict[str, int]:
        for i in range(1, steps + 1):
            await asyncio.sleep(pause)
            await ctx.progress(100 * i / steps, f"step {i}/{steps}")
        # Ran to completion: one line per run, in a file (the database may be away now).
        with open(os.environ["ORBIT_E2E_RUNS_FILE"], "a") as runs:
            runs.write(f"{ctx.job_id}\n")
        return {"steps": steps, "pid": os.getpid()}

    @registry.job("kill_worker")
    async def kill_worker(ctx: JobContext) -> None:
        await asyncio.to_thread(record, ctx.job_id)
        os.kill(os.getpid(), signal.SIGKILL)

    return registry


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--lease", type=float, default=30.0)
    parser.add_argument("--heartbeat", type=float, default=10.0)
    parser.add_argument("--reap", type=float, default=5.0)
    parser.add_argument("--poll", type=float, default=1.0)
    parser.add_argument("--job-type", action="append", dest="job_types")
    args = parser.parse_args()
    store = open_store(args.url)
    config = WorkerConfig(
        concurrency=args.concurrency,
        lease_seconds=args.lease,
        heartbeat_seconds=args.heartbeat,
        reap_seconds=args.reap,
        poll_seconds=args.poll,
        job_types=tuple(args.job_types) if args.job_types else None,
    )
    worker = Worker(store, build_registry(store.engine), config)
    worker.install_signal_handlers()
    await worker.run()
    store.close()


if __name__ == "__main__":
    asyncio.run(main())
