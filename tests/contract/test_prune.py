"""Prune deletes in bounded batches: one short transaction per batch, so writers (a
worker's heartbeat above all) commit between batches instead of waiting for the whole
delete (SQLite has one write lock)."""

from __future__ import annotations

import datetime as dt
import math
import threading
from collections.abc import Iterator

import pytest
from sqlalchemy import event

from orbit.jobs import JobSpec, ManualClock, SQLStore, open_store
from orbit.jobs.models import Lease


def _finished(st: SQLStore, n: int) -> None:
    ids = st.enqueue_many([JobSpec("t", {"i": i}) for i in range(n)])
    for job_id in ids:
        st.cancel(job_id)


@pytest.fixture
def other(db_url: str, clock: ManualClock) -> Iterator[SQLStore]:
    """A second store on the same database: another worker's connections."""
    opened = open_store(db_url, clock=clock)
    yield opened
    opened.close()


@pytest.mark.parametrize("n", [25, 30])
def test_prune_of_more_jobs_than_a_batch_takes_one_transaction_per_batch(
    st: SQLStore, clock: ManualClock, n: int
) -> None:
    _finished(st, n)
    clock.advance(3600)
    commits: list[int] = []
    listener = lambda conn: commits.append(1)  # noqa: E731
    event.listen(st.engine, "commit", listener)
    try:
        assert st.prune(dt.timedelta(minutes=1), batch_size=10) == n
    finally:
        event.remove(st.engine, "commit", listener)
    assert len(commits) == math.ceil(n / 10)
    assert st.list().items == []


def test_a_heartbeat_commits_between_prune_batches(
    st: SQLStore, other: SQLStore, clock: ManualClock
) -> None:
    _finished(st, 25)
    live = other.enqueue(JobSpec("t"))
    clock.advance(3600)
    [claimed] = other.claim("w", None, 1, 30)
    assert claimed.id == live.id and claimed.lease_token is not None
    lease = Lease(claimed.id, claimed.lease_token)
    order: list[str] = []
    beats: list[threading.Thread] = []

    def beat() -> None:
        other.heartbeat([lease], 30)
        order.append("heartbeat")

    def after_batch(conn: object) -> None:
        order.append("batch")
        if len(beats) == 0:
            # While the first batch commits another worker heartbeats; it must get in
            # before the next batch, i.e. no lock is held from one batch to the next.
            beats.append(threading.Thread(target=beat))
            beats[0].start()

    event.listen(st.engine, "commit", after_batch)
    original = st._write

    import contextlib

    @contextlib.contextmanager
    def write_then_let_the_heartbeat_in():  # type: ignore[no-untyped-def]
        with original() as conn:
            yield conn
        if beats:
            beats[0].join(timeout=10)

    st._write = write_then_let_the_heartbeat_in  # type: ignore[method-assign]
    try:
        assert st.prune(dt.timedelta(minutes=1), batch_size=10) == 25
    finally:
        event.remove(st.engine, "commit", after_batch)
    assert order == ["batch", "heartbeat", "batch", "batch"]
