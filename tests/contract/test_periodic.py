"""Periodic jobs from cron expressions: exactly one enqueue per tick, however many workers
race for it. Both databases."""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import threading
from collections.abc import Iterator

import pytest

from orbit.jobs import (
    JobClient,
    JobFilter,
    JobRegistry,
    JobStatus,
    ManualClock,
    SQLStore,
    Worker,
    WorkerConfig,
    open_store,
)
from orbit.jobs.worker.periodic import Schedule, Scheduler

WORKERS = 4
START = dt.datetime(2030, 1, 1, 0, 0, 30, tzinfo=dt.UTC)


@pytest.fixture
def stores(db_url: str) -> Iterator[tuple[ManualClock, list[SQLStore]]]:
    """One store (its own connections, like a separate process) per worker, one clock."""
    clock = ManualClock(START)
    opened = [open_store(db_url, clock) for _ in range(WORKERS)]
    yield clock, opened
    for store in opened:
        store.close()


def test_racing_schedulers_enqueue_each_tick_exactly_once(
    stores: tuple[ManualClock, list[SQLStore]],
) -> None:
    clock, opened = stores
    schedule = Schedule("minutely", "* * * * *", "report", {"kind": "m"})
    schedulers = [Scheduler(JobClient(s), [schedule], clock) for s in opened]
    barrier = threading.Barrier(WORKERS)

    def race(scheduler: Scheduler) -> list[str]:
        barrier.wait(30)  # every worker asks at the same moment
        return [str(job.id) for job in scheduler.enqueue_due()]

    seen: list[set[str]] = []
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as pool:
        for _ in range(3):
            answers = list(pool.map(race, schedulers))
            seen.append({i for answer in answers for i in answer})
            clock.advance(60)
    assert [len(ids) for ids in seen] == [1, 1, 1], "every worker got the one job of the tick"
    client = JobClient(opened[0])
    jobs = client.list(JobFilter(job_type="report")).items
    assert len(jobs) == 3
    keys = sorted(j.idempotency_key or "" for j in jobs)
    assert keys == [
        "cron:minutely:2030-01-01T00:00:00+00:00",
        "cron:minutely:2030-01-01T00:01:00+00:00",
        "cron:minutely:2030-01-01T00:02:00+00:00",
    ]
    assert {(j.input_data["kind"], j.run_at.minute) for j in jobs} == {("m", 0), ("m", 1), ("m", 2)}  # type: ignore[index,call-overload]


def test_a_tick_exactly_now_is_due_and_a_bad_expression_is_refused() -> None:
    schedule = Schedule("hourly", "0 * * * *", "report")
    at = dt.datetime(2030, 1, 1, 5, 0, tzinfo=dt.UTC)
    assert schedule.latest_tick(at) == at
    assert schedule.next_tick(at) == at + dt.timedelta(hours=1)
    with pytest.raises(ValueError, match="invalid cron"):
        Schedule("bad", "61 * * * *", "report")
    registry = JobRegistry()
    registry.schedule("hourly", "0 * * * *", "report")
    with pytest.raises(ValueError, match="already registered"):
        registry.schedule("hourly", "5 * * * *", "report")


async def test_workers_with_a_schedule_enqueue_its_tick_once_and_run_it(
    stores: tuple[ManualClock, list[SQLStore]],
) -> None:
    _, opened = stores
    registry = JobRegistry()

    @registry.job("report")
    async def report(ctx: object, kind: str) -> str:
        return kind

    registry.schedule("minutely", "* * * * *", "report", {"kind": "m"})
    workers = [Worker(s, registry, WorkerConfig(poll_seconds=0.05)) for s in opened]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    client = JobClient(opened[0])
    try:
        deadline = asyncio.get_running_loop().time() + 30
        while True:
            jobs = client.list(JobFilter(job_type="report")).items
            if jobs and jobs[0].status is JobStatus.COMPLETED:
                break
            assert asyncio.get_running_loop().time() < deadline, "the tick's job never ran"
            await asyncio.sleep(0.02)
        assert all(w.started.is_set() for w in workers)
    finally:
        for worker in workers:
            worker.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 30)
        await opened[0].feed.close()
    assert len(client.list(JobFilter(job_type="report")).items) == 1
    assert jobs[0].result == "m"
