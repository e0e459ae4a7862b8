"""The event fan-out: ``EventHub`` wake-ups and the ``LogCursor`` ordering rules."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest

from orbit.jobs import JobSpec, SQLStore, open_store
from orbit.jobs.events import EventHub, Subscription
from orbit.jobs.log_cursor import LogCursor, LogEntry, LogRead, ProjectSnapshot
from orbit.jobs.store.feed import ChangeKind
from tests.conftest import TABLES, migrate_all

# -- LogCursor: pure ordering rules --------------------------------------------------------------

JOB = uuid.uuid4()


def entry(event_id: int, mine: bool = True) -> LogEntry:
    return LogEntry(event_id, JOB, event_id, "progress", {"n": event_id} if mine else None, mine)


def read(ids: list[int], xmin: int | None = None, fence: int | None = None) -> LogRead:
    return LogRead([entry(i) for i in ids], xmin, fence)


def ids(entries: list[LogEntry]) -> list[int]:
    return [e.id for e in entries]


def test_commit_ordered_ids_pass_holes_at_once() -> None:
    cursor = LogCursor(0)
    assert ids(cursor.advance(read([1, 2, 4, 5]))) == [1, 2, 4, 5]
    assert cursor.position == 5 and not cursor.held


def test_other_jobs_move_the_cursor_without_being_handed_out() -> None:
    cursor = LogCursor(0)
    log = LogRead([entry(1), entry(2, mine=False), entry(3)], None, None)
    assert ids(cursor.advance(log)) == [1, 3]
    assert cursor.position == 3


def test_a_hole_holds_the_cursor_until_the_missing_id_commits() -> None:
    cursor = LogCursor(0)
    # Transaction A took id 2 and is still running (xmin 10, below the fence 12 its read
    # took); B's id 3 is visible.
    assert ids(cursor.advance(read([1, 3], xmin=10, fence=12), now=0)) == [1]
    assert cursor.held and cursor.position == 1
    assert ids(cursor.advance(read([3], xmin=10, fence=12), now=0.01)) == []
    assert cursor.held
    # A commits: 2 then 3, in order, nothing lost.
    assert ids(cursor.advance(read([2, 3], xmin=13, fence=13), now=0.02)) == [2, 3]
    assert not cursor.held and cursor.position == 3


def test_a_hole_is_passed_once_every_transaction_that_could_fill_it_ended() -> None:
    cursor = LogCursor(0, grace_seconds=60)
    assert ids(cursor.advance(read([1, 3], xmin=10, fence=12), now=0)) == [1]
    assert cursor.held
    # Everything running at the first read (below its fence 12) is over and 2 is still missing:
    # it was rolled back or deleted.
    assert ids(cursor.advance(read([3, 4], xmin=12, fence=15), now=0.01)) == [3, 4]
    assert cursor.position == 4


def test_a_quiet_database_settles_a_hole_in_the_same_read() -> None:
    # Nothing ran when the read took its fence: the fence is the snapshot's xmin itself.
    cursor = LogCursor(0)
    assert ids(cursor.advance(read([1, 3], xmin=12, fence=12))) == [1, 3]


def test_a_writer_newer_than_every_completed_transaction_holds_the_hole() -> None:
    # The snapshot had no running transaction below its xmax (12), but writer 12 took id 2
    # and runs on: the fence (13) is above it, and xmin stays below the fence until it ends.
    cursor = LogCursor(0, grace_seconds=60)
    assert ids(cursor.advance(read([1, 3], xmin=12, fence=13), now=0)) == [1]
    assert ids(cursor.advance(read([3], xmin=12, fence=14), now=0.01)) == []
    assert ids(cursor.advance(read([2, 3], xmin=15), now=0.02)) == [2, 3]


def test_the_grace_period_caps_the_wait(caplog: pytest.LogCaptureFixture) -> None:
    cursor = LogCursor(0, grace_seconds=2)
    assert ids(cursor.advance(read([1, 3], xmin=5, fence=12), now=100)) == [1]
    assert ids(cursor.advance(read([3], xmin=5, fence=12), now=101.9)) == []
    assert caplog.records == []
    assert ids(cursor.advance(read([3], xmin=5, fence=12), now=102.0)) == [3]
    # Passing over an id that may still commit is said, with what it waited for.
    [record] = caplog.records
    assert record.levelname == "WARNING"
    assert "log ids 2..2 still missing after 2.0 s" in record.getMessage()
    assert "waiting for fence 12" in record.getMessage()


def test_a_hole_reaching_past_what_was_observed_needs_a_new_observation() -> None:
    cursor = LogCursor(0, grace_seconds=60)
    assert ids(cursor.advance(read([1, 3], xmin=10, fence=12), now=0)) == [1]
    # 3 was deleted meanwhile, 2 and 4 are missing, 5 is new. Id 4 was never observed
    # missing by the first read, so its fence does not settle it.
    assert ids(cursor.advance(read([5], xmin=12, fence=20), now=1)) == []
    assert cursor.held and cursor.position == 1
    assert ids(cursor.advance(read([5], xmin=20, fence=21), now=2)) == [5]


def test_after_a_snapshot_missing_ids_are_awaited_and_reflected_ones_skipped() -> None:
    present = frozenset(set(range(1, 11)) - {7})
    snapshot = ProjectSnapshot(jobs=[], top=10, floor=0, present=present, fence=50, truncated=False)
    cursor = LogCursor.after_snapshot(snapshot, grace_seconds=60, now=0)
    assert cursor.position == 6
    assert ids(cursor.advance(read(list(range(1, 12)), xmin=40, fence=55), now=0.1)) == [7, 11]
    assert cursor.position == 11


def test_after_a_snapshot_without_missing_ids_the_cursor_is_its_top() -> None:
    full = ProjectSnapshot(
        [], top=5, floor=0, present=frozenset(range(1, 6)), fence=9, truncated=False
    )
    assert LogCursor.after_snapshot(full, grace_seconds=1).position == 5
    sqlite = ProjectSnapshot(
        [], top=5, floor=0, present=frozenset({5}), fence=None, truncated=False
    )
    assert LogCursor.after_snapshot(sqlite, grace_seconds=1).position == 5


# -- EventHub ------------------------------------------------------------------------------------


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLStore]:
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    migrate_all(url)
    store = open_store(url)
    yield store
    store.close()


@pytest.fixture
async def hub(sqlite_store: SQLStore) -> AsyncIterator[EventHub]:
    events = EventHub(sqlite_store.feed)
    yield events
    await close(events)


async def close(hub: EventHub) -> None:
    await hub.close()
    await hub.feed.close()


async def woken(subscription: Subscription, timeout: float = 0.05) -> bool:
    return await subscription.wait(timeout)


async def test_publish_wakes_the_matching_subscribers_only(hub: EventHub) -> None:
    job_a, job_b, project = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    a = await hub.subscribe(job_id=job_a)
    b = await hub.subscribe(job_id=job_b)
    p = await hub.subscribe(project_id=project)
    every = await hub.subscribe(everything=True)
    await asyncio.sleep(0)
    for subscription in (a, b, p, every):
        await woken(subscription, 0)  # clear the wake-up every subscriber gets at start

    hub.publish(job_a, project)
    assert [await woken(s) for s in (a, b, p, every)] == [True, False, True, True]
    hub.publish(None, None)
    assert [await woken(s) for s in (a, b, p, every)] == [False, False, False, True]
    assert hub.subscribers == 4


async def test_a_wake_up_before_the_wait_is_kept_and_several_coalesce(hub: EventHub) -> None:
    job = uuid.uuid4()
    subscription = await hub.subscribe(job_id=job)
    await woken(subscription, 0)
    hub.publish(job, None)
    hub.publish(job, None)
    assert await subscription.wait(0) is True
    assert await subscription.wait(0.05) is False


async def test_closing_unsubscribes(hub: EventHub) -> None:
    job = uuid.uuid4()
    async with await hub.subscribe(job_id=job) as subscription:
        assert hub.subscribers == 1
    assert hub.subscribers == 0 and subscription.closed
    await woken(subscription, 0)
    hub.publish(job, None)
    assert not await woken(subscription)
    subscription.close()  # idempotent
    assert hub.subscribers == 0


async def test_following_everything_can_be_switched_on_and_off(hub: EventHub) -> None:
    subscription = await hub.subscribe(job_id=uuid.uuid4())
    await woken(subscription, 0)
    subscription.follow_everything(True)
    hub.publish(uuid.uuid4(), None)
    assert await woken(subscription)
    subscription.follow_everything(False)
    hub.publish(uuid.uuid4(), None)
    assert not await woken(subscription)


def write_progress(store: SQLStore, count: int, project_id: uuid.UUID | None = None) -> uuid.UUID:
    job = store.enqueue(JobSpec("hub_test", project_id=project_id))
    (claimed,) = store.claim("w", None, 1, 300, job_ids=[job.id])

    def run() -> None:
        for i in range(count):
            store.progress(claimed.lease, i % 100, f"step {i}")
        store.complete(claimed.lease)

    threading.Thread(target=run).start()
    return job.id


async def test_this_processs_writes_wake_at_once_without_polling(sqlite_store: SQLStore) -> None:
    sqlite_store.feed.source.poll_seconds = 30  # type: ignore[attr-defined]
    hub = EventHub(sqlite_store.feed)  # only the in-process signal is fast
    try:
        job = sqlite_store.enqueue(JobSpec("hub_test"))
        (claimed,) = sqlite_store.claim("w", None, 1, 300, job_ids=[job.id])
        subscription = await hub.subscribe(job_id=job.id)
        await woken(subscription, 0)
        started = time.monotonic()
        await asyncio.to_thread(sqlite_store.progress, claimed.lease, 10, "now")
        assert await subscription.wait(5)
        assert time.monotonic() - started < 1
    finally:
        await close(hub)


async def test_another_processs_writes_wake_the_job_and_project_subscribers(db_url: str) -> None:
    """A separate store (its own engine, no in-process signal), like a worker process."""
    server_store, worker_store = open_store(db_url), open_store(db_url)
    hub = EventHub(server_store.feed)
    project = uuid.uuid4()
    try:
        job = worker_store.enqueue(JobSpec("hub_test", project_id=project))
        other = worker_store.enqueue(JobSpec("hub_test", project_id=uuid.uuid4()))
        by_job = await hub.subscribe(job_id=job.id)
        by_project = await hub.subscribe(project_id=project)
        await woken(by_job, 0)
        await woken(by_project, 0)
        await asyncio.to_thread(worker_store.cancel, other.id)
        assert not await woken(by_job, 0.2) and not await woken(by_project, 0)
        await asyncio.to_thread(worker_store.cancel, job.id)
        assert await by_job.wait(5) and await by_project.wait(5)
    finally:
        await close(hub)
        server_store.close()
        worker_store.close()


async def test_no_wake_up_is_lost_while_a_writer_streams_events(db_url: str) -> None:
    """Subscribe, read, wait, read...: never waits past an event, with no periodic re-read."""
    server_store, worker_store = open_store(db_url), open_store(db_url)
    hub = EventHub(server_store.feed)
    try:
        job = worker_store.enqueue(JobSpec("hub_test"))
        (claimed,) = worker_store.claim("w", None, 1, 300, job_ids=[job.id])
        subscription = await hub.subscribe(job_id=job.id)
        total = 300
        writer = threading.Thread(
            target=lambda: [worker_store.progress(claimed.lease, 1, str(i)) for i in range(total)]
        )
        writer.start()

        async def follow() -> list[int]:
            seen: list[int] = []
            cursor = 2
            while cursor < 2 + total:
                for event in await asyncio.to_thread(server_store.events_after, job.id, cursor):
                    seen.append(event.seq)
                    cursor = event.seq
                if cursor < 2 + total:
                    await subscription.wait(None)  # a lost wake-up would hang here
            return seen

        seen = await asyncio.wait_for(follow(), 30)
        writer.join()
        assert seen == list(range(3, 3 + total))
    finally:
        await close(hub)
        server_store.close()
        worker_store.close()


async def test_one_watcher_serves_every_subscriber_and_the_worker(db_url: str) -> None:
    """However many subscribe (20 streams and a worker's wake-up), the feed runs one source."""
    server_store, worker_store = open_store(db_url), open_store(db_url)
    hub = EventHub(server_store.feed)
    try:
        jobs = [worker_store.enqueue(JobSpec("hub_test")) for _ in range(20)]
        runnable = server_store.feed.signal({ChangeKind.RUNNABLE})
        subscriptions = [await hub.subscribe(job_id=job.id) for job in jobs]
        assert server_store.feed.watchers == 1 and server_store.feed.starts == 1
        for subscription in subscriptions:
            await woken(subscription, 0)
        await runnable.wait(0)  # clear the wake-up every subscriber gets at start
        await asyncio.to_thread(worker_store.cancel, jobs[7].id)
        assert await subscriptions[7].wait(5)
        assert not await woken(subscriptions[8], 0.1)
        await asyncio.to_thread(worker_store.enqueue, JobSpec("hub_test"))
        assert await runnable.wait(5), "the worker's wake-up rides the same feed"
        assert server_store.feed.starts == 1
        runnable.close()
    finally:
        await close(hub)
        server_store.close()
        worker_store.close()


async def test_a_lost_listen_connection_reconnects_and_wakes_everyone(_pg_migrated: str) -> None:
    server_store, worker_store = open_store(_pg_migrated), open_store(_pg_migrated)
    with server_store.engine.begin() as conn:
        conn.exec_driver_sql(f"TRUNCATE {', '.join(TABLES)} CASCADE")
    hub = EventHub(server_store.feed)
    try:
        job = worker_store.enqueue(JobSpec("hub_test"))
        subscription = await hub.subscribe(job_id=job.id)
        await woken(subscription, 0)
        conninfo = server_store.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        with psycopg.connect(conninfo, autocommit=True) as admin:
            killed = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND query = 'LISTEN orbit_changes'"
            ).fetchall()
        assert killed == [(True,)]
        assert await subscription.wait(10), "woken after the listener came back"
        await asyncio.to_thread(worker_store.cancel, job.id)
        assert await subscription.wait(5)
    finally:
        await close(hub)
        server_store.close()
        worker_store.close()
