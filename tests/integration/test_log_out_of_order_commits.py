"""PostgreSQL hands out event ids before commit, and transaction ids in another order.

Writer A takes its transaction id first, writer B second; B then allocates event id ``m``
and A ``m + 1``; A commits. The newest transaction id of all is B's, still running, so a
snapshot's ``xmax`` (the newest *completed* id plus one) does not cover it and its
``xmin`` reaches that ``xmax``: the snapshot bounds alone would call the hole at ``m``
settled and pass it for good. A project stream must hand out ``m`` once B commits.

(On SQLite one writer at a time commits, and ids become visible in order: the race cannot
be built there; ``tests/unit/test_events.py`` covers the cursor on both.)
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from orbit.jobs import JobSpec, SQLStore
from orbit.jobs.log_cursor import LogCursor, LogEntry
from orbit.jobs.store import open_store
from tests.conftest import TABLES


@pytest.fixture
def pg_store(_pg_migrated: str) -> Iterator[SQLStore]:
    store = open_store(_pg_migrated)
    with store.engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {', '.join(TABLES)} CASCADE"))
    yield store
    store.close()


INSERT = sa.text(
    "INSERT INTO job_events (job_id, seq, kind, payload, created_at) "
    "VALUES (:job, :seq, 'progress', CAST(:payload AS jsonb), now()) RETURNING id"
)


def _follow(store: SQLStore, cursor: LogCursor, project: uuid.UUID) -> list[LogEntry]:
    """What one stream wake-up hands out: read until caught up or held (as ``streams.py``)."""
    out: list[LogEntry] = []
    for _ in range(10):
        read = store.read_log(cursor.position, project)
        out.extend(cursor.advance(read))
        if cursor.held or len(read.entries) < 500:
            break
    return out


class Interleaved:
    """Writers A and B, B with the newer transaction id and the smaller event id; A commits."""

    def __init__(self, store: SQLStore, a: uuid.UUID, b: uuid.UUID) -> None:
        self.first = store.engine.connect()
        self.second = store.engine.connect()
        self.first.begin()
        self.second.begin()
        xid = sa.text("SELECT pg_current_xact_id()::text")
        xid_a = int(self.first.execute(xid).scalar_one())
        xid_b = int(self.second.execute(xid).scalar_one())
        assert xid_a < xid_b
        self.early = int(self.second.execute(INSERT, _progress(b, 1)).scalar_one())
        self.late = int(self.first.execute(INSERT, _progress(a, 2)).scalar_one())
        assert self.early < self.late
        self.first.commit()

    def commit_b(self) -> None:
        self.second.commit()

    def close(self) -> None:
        self.first.close()
        self.second.close()


def _progress(job: uuid.UUID, percent: int) -> dict[str, object]:
    return {"job": job, "seq": 2, "payload": json.dumps({"percent": percent})}


def _jobs(store: SQLStore, project: uuid.UUID) -> tuple[uuid.UUID, uuid.UUID]:
    a, b = (store.enqueue(JobSpec("t", project_id=project)) for _ in range(2))
    return a.id, b.id


def test_an_id_of_the_newest_transaction_is_not_passed_while_it_runs(pg_store: SQLStore) -> None:
    project = uuid.uuid4()
    a, b = _jobs(pg_store, project)
    cursor = LogCursor(pg_store.read_log(0, project).entries[-1].id, grace_seconds=60)
    writers = Interleaved(pg_store, a, b)
    try:
        # B still runs: its id must hold the cursor, whatever the snapshot bounds say.
        assert _follow(pg_store, cursor, project) == []
        assert cursor.held and cursor.position == writers.early - 1
        writers.commit_b()
    finally:
        writers.close()

    assert [e.id for e in _follow(pg_store, cursor, project)] == [writers.early, writers.late]
    assert not cursor.held and cursor.position == writers.late


def test_a_project_snapshot_waits_for_the_newest_transaction_too(pg_store: SQLStore) -> None:
    project = uuid.uuid4()
    a, b = _jobs(pg_store, project)
    writers = Interleaved(pg_store, a, b)
    try:
        snapshot = pg_store.project_snapshot(project)
        assert snapshot.top == writers.late and writers.early not in snapshot.present
        assert snapshot.fence is not None
        # While B runs no read's xmin reaches the snapshot's fence: the id is awaited.
        assert (pg_store.read_log(snapshot.floor, project).xmin or 0) < snapshot.fence
        cursor = LogCursor.after_snapshot(snapshot, grace_seconds=60)
        assert _follow(pg_store, cursor, project) == []
        writers.commit_b()
    finally:
        writers.close()

    handed = _follow(pg_store, cursor, project)
    assert [(e.id, e.job_id) for e in handed] == [(writers.early, b)]
    assert cursor.position == writers.late
