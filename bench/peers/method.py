"""The workload, identical for every system; each ``run_<system>`` module adapts it.

Phases, on one fresh database per system:

1. *first job*: one job is enqueued, then the worker command starts; the figure is the
   time from starting the process to the client seeing the job completed.
2. *enqueue one by one*: ``jobs`` no-op jobs, one library call (one transaction) each.
3. *drain*: one worker process (concurrency 10) runs those jobs; the figure is the
   steady rate between 5 % and 95 % of them done, counted in the system's own table.
4. *bulk enqueue* (where the library has a bulk call), then a drain at concurrency 8.
5. *pickup*: an idle worker (concurrency 10); ``pickups`` times, after a random idle gap,
   one job is enqueued and the client polls its status through the library's read call
   every 1 ms; the figure is enqueue -> client sees completed.
6. *progress*: a job reports progress ``updates`` times and times each call itself, while
   the client polls its status every 1 ms.

Prints one JSON object (figure name -> value, ``None`` where the system has no such verb).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from typing import Any, Protocol

POLL_SECONDS = 0.001
OBSERVE_SECONDS = 0.005
DEADLINE_SECONDS = 300.0


class System(Protocol):
    """What a system's runner provides (coroutines, so async libraries run natively)."""

    url: str

    async def setup(self) -> None: ...
    async def close(self) -> None: ...
    async def enqueue(self) -> Any: ...  # one no-op job; returns what ``done`` reads
    async def enqueue_bulk(self, n: int) -> bool: ...  # False: no bulk call
    async def done(self, handle: Any) -> bool: ...  # the library's own status read
    async def enqueue_progress(self, updates: int) -> Any | None: ...  # None: no progress
    async def progress_result(self, handle: Any) -> float: ...  # ms per update
    def finished_count(self) -> int: ...  # the observer: finished jobs in its table
    def worker_command(self, concurrency: int) -> list[str]: ...


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("url")
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--pickups", type=int, default=200)
    parser.add_argument("--updates", type=int, default=200)
    return parser.parse_args()


def start_worker(system: System, concurrency: int) -> subprocess.Popen[bytes]:
    """The system's worker command; its log goes to a file (a pipe nobody reads would
    fill up and stall a worker that logs every job)."""
    env = {**python_path_env(), "BENCH_URL": system.url, "BENCH_CONCURRENCY": str(concurrency)}
    with tempfile.TemporaryFile() as log:  # the child keeps its own descriptor
        return subprocess.Popen(
            system.worker_command(concurrency),
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )


def stop_worker(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check_alive(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is not None:
        raise SystemExit(f"worker exited with {proc.returncode}")


async def until_done(system: System, handle: Any, proc: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while not await system.done(handle):
        if time.monotonic() > deadline:
            raise SystemExit("a job was not done within 60 s")
        check_alive(proc)
        await asyncio.sleep(POLL_SECONDS)


async def first_job(system: System) -> float:
    handle = await system.enqueue()
    started = time.perf_counter()
    proc = start_worker(system, 10)
    try:
        await until_done(system, handle, proc)
        return time.perf_counter() - started
    finally:
        stop_worker(proc)


async def enqueue_rate(system: System, n: int) -> float:
    started = time.perf_counter()
    for _ in range(n):
        await system.enqueue()
    return n / (time.perf_counter() - started)


async def drain_rate(system: System, n: int, concurrency: int) -> float:
    base = system.finished_count()
    low, high = base + round(n * 0.05), base + round(n * 0.95)
    proc = start_worker(system, concurrency)
    t_low = None
    deadline = time.monotonic() + DEADLINE_SECONDS
    try:
        while True:
            done = system.finished_count()
            now = time.perf_counter()
            if t_low is None and done >= low:
                t_low = now
            if done >= high:
                assert t_low is not None
                rate = (high - low) / (now - t_low) if now > t_low else float("nan")
                break
            check_alive(proc)
            if time.monotonic() > deadline:
                raise SystemExit("drain did not finish")
            await asyncio.sleep(OBSERVE_SECONDS)
        while system.finished_count() < base + n and time.monotonic() < deadline:
            await asyncio.sleep(OBSERVE_SECONDS)
        return rate
    finally:
        stop_worker(proc)


async def pickups_and_progress(
    system: System, samples: int, updates: int
) -> tuple[float, float | None]:
    proc = start_worker(system, 10)
    try:
        await until_done(system, await system.enqueue(), proc)  # warm
        latencies = []
        for _ in range(samples):
            await asyncio.sleep(random.uniform(0.02, 0.08))  # the worker is idle
            started = time.perf_counter()
            handle = await system.enqueue()
            await until_done(system, handle, proc)
            latencies.append(time.perf_counter() - started)
        progress = None
        handle = await system.enqueue_progress(updates)
        if handle is not None:
            await until_done(system, handle, proc)  # the client polls every 1 ms meanwhile
            progress = await system.progress_result(handle)
        return statistics.median(latencies) * 1000, progress
    finally:
        stop_worker(proc)


async def run(system: System, args: argparse.Namespace) -> dict[str, float | None]:
    await system.setup()
    try:
        figures: dict[str, float | None] = {}
        figures["first_job_s"] = await first_job(system)
        figures["enqueue_one"] = await enqueue_rate(system, args.jobs)
        figures["drain_10"] = await drain_rate(system, args.jobs, 10)
        started = time.perf_counter()
        if await system.enqueue_bulk(args.jobs):
            figures["enqueue_bulk"] = args.jobs / (time.perf_counter() - started)
        else:
            figures["enqueue_bulk"] = None
            for _ in range(args.jobs):
                await system.enqueue()
        figures["drain_8"] = await drain_rate(system, args.jobs, 8)
        pickup, progress = await pickups_and_progress(system, args.pickups, args.updates)
        figures["pickup_p50_ms"] = pickup
        figures["progress_ms"] = progress
        return figures
    finally:
        await system.close()


def main(factory: Callable[[argparse.Namespace], System]) -> None:
    args = arguments()
    figures = asyncio.run(run(factory(args), args))
    sys.stdout.write(json.dumps(figures) + "\n")


def python_path_env() -> dict[str, str]:
    """The environment for a worker command: this checkout importable, output unbuffered."""
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    path = os.environ.get("PYTHONPATH")
    return {**os.environ, "PYTHONPATH": root + (os.pathsep + path if path else "")}
