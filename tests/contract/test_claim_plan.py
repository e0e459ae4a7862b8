"""The claim reads pending jobs in claim order from an index and stops: no sort of every
pending row at each claim (both databases).

Before ``ix_jobs_claim_any_queue``, a worker serving every queue (the default) made both
databases sort all pending rows per claim; SQLite's planner also needs its filters marked
``likely()`` to prefer the ordered partial index over ``ix_jobs_status`` or
``ix_jobs_job_type``. The plans are read with the claim's own SQL and parameters.
"""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from orbit.jobs import JobSpec, SQLStore
from orbit.jobs.store.sqlite_writes import QueuedWriteConnection

PENDING = 2_000


def claim_plan(store: SQLStore, monkeypatch: pytest.MonkeyPatch, **claim: Any) -> str:
    sqlite = store.dialect.name == "sqlite"
    engine = store.engine if sqlite else store.dialect.autocommit_engine(store.engine)
    seen: list[tuple[str, Any]] = []

    # Both claim straight on the driver's connection: read the SQL it is given.
    cursor_type = QueuedWriteConnection if sqlite else psycopg.Cursor
    execute = cursor_type.execute

    def captured(target: Any, statement: str, *params: Any, **options: Any) -> Any:
        if isinstance(statement, str) and statement.lstrip().upper().startswith(("UPDATE", "WITH")):
            seen.append((statement, params[0] if params else ()))
        return execute(target, statement, *params, **options)

    monkeypatch.setattr(cursor_type, "execute", captured)
    try:
        store.claim("w", claim.pop("job_types", ["a", "b"]), 5, 30.0, **claim)
    finally:
        monkeypatch.undo()
    statement, params = seen[0]
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        cursor.execute(("EXPLAIN QUERY PLAN " if sqlite else "EXPLAIN ") + statement, params)
        rows = cursor.fetchall()
    finally:
        raw.close()
    return "\n".join(str(row[-1] if sqlite else row[0]) for row in rows)


@pytest.fixture
def crowded(store: SQLStore) -> SQLStore:
    store.enqueue_many(
        [JobSpec("a" if i % 2 else "b", queue="q1" if i % 3 else "q2") for i in range(PENDING)]
    )
    return store


def test_a_claim_over_every_queue_reads_the_ordered_index(
    crowded: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = claim_plan(crowded, monkeypatch)
    assert "ix_jobs_claim_any_queue" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan


def test_a_claim_of_one_queue_reads_the_queue_index(
    crowded: SQLStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    plan = claim_plan(crowded, monkeypatch, queues=["q1"])
    assert "ix_jobs_claim" in plan, plan
    assert "TEMP B-TREE" not in plan and "Sort" not in plan, plan
