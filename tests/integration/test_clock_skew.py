"""Hosts whose clocks disagree share one PostgreSQL database: leases and ``run_at`` follow
the database's clock, so no host's skew makes a live job look abandoned or a due job
look early.

PostgreSQL only: SQLite is one host by definition (one file, one machine's clock), and
there the store keeps the injected clock (``docs/architecture.md``, "Clock skew").
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import uuid
from collections.abc import Iterator

import pytest

from orbit.jobs import (
    JobClient,
    JobContext,
    JobRegistry,
    JobSpec,
    JobStatus,
    SQLStore,
    Worker,
    WorkerConfig,
    open_store,
)
from tests.conftest import async_wait_until, wait_until

SKEW = 10 * 60.0  # minutes, far beyond lease - heartbeat (20 s by default)


class SkewedClock:
    """A host's wall clock that is off by ``seconds`` (ahead when positive)."""

    def __init__(self, seconds: float) -> None:
        self.offset = dt.timedelta(seconds=seconds)

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC) + self.offset


@pytest.fixture
def pg_db(_pg_migrated: str) -> str:
    """The run's PostgreSQL database, emptied."""
    from tests.conftest import TABLES

    store = open_store(_pg_migrated)
    with store.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    store.close()
    return _pg_migrated


@pytest.fixture
def hosts(pg_db: str) -> Iterator[dict[str, SQLStore]]:
    """Three hosts on one database: one on time, one minutes ahead, one minutes behind."""
    opened = {
        "on_time": open_store(pg_db),
        "ahead": open_store(pg_db, clock=SkewedClock(SKEW)),
        "behind": open_store(pg_db, clock=SkewedClock(-SKEW)),
    }
    yield opened
    for store in opened.values():
        store.close()


def test_a_host_whose_clock_is_ahead_reclaims_no_live_lease(hosts: dict[str, SQLStore]) -> None:
    on_time, ahead = hosts["on_time"], hosts["ahead"]
    for i in range(3):
        on_time.enqueue(JobSpec("work", {"i": i}))
    claimed = on_time.claim("w-on-time", None, 3, lease_seconds=30)
    assert len(claimed) == 3
    report = ahead.reclaim_expired()
    assert report.total == 0
    assert {j.status for j in (on_time.get(c.id) for c in claimed)} == {JobStatus.RUNNING}


def test_a_host_whose_clock_is_behind_reclaims_an_expired_lease_on_time(
    hosts: dict[str, SQLStore],
) -> None:
    ahead, behind = hosts["ahead"], hosts["behind"]
    job = ahead.enqueue(JobSpec("work", {}))
    [claimed] = ahead.claim("w-ahead", None, 1, lease_seconds=0.2)
    assert claimed.id == job.id
    # The lease ran out in the database's time; the host behind must see that.
    report = wait_until(lambda: behind.reclaim_expired().requeued, timeout=5, what="reclaim")
    assert report == [job.id]


def test_a_heartbeat_from_a_host_behind_keeps_the_lease_alive(
    hosts: dict[str, SQLStore],
) -> None:
    behind, on_time = hosts["behind"], hosts["on_time"]
    behind.enqueue(JobSpec("work", {}))
    [job] = behind.claim("w-behind", None, 1, lease_seconds=30)
    assert job.lease_token is not None
    from orbit.jobs.models import Lease

    assert behind.heartbeat([Lease(job.id, job.lease_token)], lease_seconds=30) == {job.id: False}
    assert on_time.reclaim_expired().total == 0


def test_a_job_enqueued_on_a_host_ahead_is_runnable_at_once_everywhere(
    hosts: dict[str, SQLStore],
) -> None:
    job = hosts["ahead"].enqueue(JobSpec("work", {}))
    assert [j.id for j in hosts["behind"].claim("w-behind", None, 1, 30)] == [job.id]


def test_a_delay_asked_on_a_skewed_host_is_a_delay_in_database_time(
    hosts: dict[str, SQLStore],
) -> None:
    ahead, behind = hosts["ahead"], hosts["behind"]
    later = ahead.enqueue(JobSpec("work", {}, run_at=ahead.clock.now() + dt.timedelta(hours=1)))
    soon = ahead.enqueue(JobSpec("work", {}, run_at=ahead.clock.now() + dt.timedelta(seconds=0.2)))
    assert behind.claim("w-behind", None, 2, 30) == []
    [claimed] = wait_until(lambda: behind.claim("w-behind", None, 2, 30), timeout=5, what="due")
    assert claimed.id == soon.id
    assert behind.get(later.id).status is JobStatus.PENDING


def test_a_retry_scheduled_by_a_host_ahead_waits_only_its_backoff(
    hosts: dict[str, SQLStore],
) -> None:
    ahead, behind = hosts["ahead"], hosts["behind"]
    job = behind.enqueue(JobSpec("work", {}))
    [claimed] = ahead.claim("w-ahead", None, 1, 30)
    assert claimed.lease_token is not None
    from orbit.jobs.models import Lease

    backoff = ahead.clock.now() + dt.timedelta(seconds=0.2)
    ahead.fail(Lease(job.id, claimed.lease_token), "rate limited", run_at=backoff)
    assert behind.claim("w-behind", None, 1, 30) == []
    again = wait_until(lambda: behind.claim("w-behind", None, 1, 30), timeout=5, what="retry")
    assert [j.id for j in again] == [job.id]


async def test_workers_with_clocks_minutes_apart_run_each_job_once(pg_db: str) -> None:
    runs: collections.Counter[uuid.UUID] = collections.Counter()
    registry = JobRegistry()

    @registry.job("tracked")
    async def tracked(ctx: JobContext, i: int) -> str:
        runs[ctx.job_id] += 1
        await asyncio.sleep(0.3)
        return "ok"

    stores = [open_store(pg_db), open_store(pg_db, clock=SkewedClock(SKEW))]
    # The reapers look every 50 ms: a skewed one would take the other's jobs at once.
    config = WorkerConfig(
        concurrency=4, lease_seconds=5, heartbeat_seconds=1, reap_seconds=0.05, poll_seconds=0.1
    )
    workers = [Worker(s, registry, config) for s in stores]
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        client = JobClient(stores[0], registry)
        ids = [client.enqueue("tracked", {"i": i}).id for i in range(16)]

        def all_finished() -> bool:
            return all(client.get(i).finished for i in ids)

        await async_wait_until(all_finished, timeout=20, what="every job to finish")
        assert {runs[i] for i in ids} == {1}, dict(runs)
        assert {client.get(i).status for i in ids} == {JobStatus.COMPLETED}
        assert {client.get(i).attempts for i in ids} == {1}
    finally:
        for w in workers:
            w.stop()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
        for s in stores:
            s.close()
