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


def test_an_id_of_the_newest_transaction_is_not_passed_while_it_runs(pg_store: SQLStore) -> None:
    project = uuid.uuid4()
    a, b = (pg_store.enqueue(JobSpec("t", project_id=project)) for _ in range(2))
    cursor = LogCursor(pg_store.read_log(0, project).entries[-1].id, grace_seconds=60)

    with pg_store.engine.connect() as first, pg_store.engine.connect() as second:
        first.begin()
        second.begin()
        xid_a = int(first.execute(sa.text("SELECT pg_current_xact_id()::text")).scalar_one())
        xid_b = int(second.execute(sa.text("SELECT pg_current_xact_id()::text")).scalar_one())
        assert xid_a < xid_b
        early = second.execute(
            INSERT, {"job": b.id, "seq": 2, "payload": json.dumps({"percent": 1})}
        ).scalar_one()
        late = first.execute(
            INSERT, {"job": a.id, "seq": 2, "payload": json.dumps({"percent": 2})}
        ).scalar_one()
        assert early < late
        first.commit()

        # B still runs: its id must hold the cursor, whatever the snapshot bounds say.
        handed = _follow(pg_store, cursor, project)
        assert [e.id for e in handed] == []
        assert cursor.held and cursor.position == early - 1

        second.commit()

    handed = _follow(pg_store, cursor, project)
    assert [e.id for e in handed] == [early, late]
    assert not cursor.held and cursor.position == late
