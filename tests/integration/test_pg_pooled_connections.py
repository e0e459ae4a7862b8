"""Pooled PostgreSQL connections the server closed are discarded at checkout, unpinged.

The store's pools check a connection's socket as it leaves the pool (``postgres_liveness``)
instead of a ping round trip. These tests end the server side of every pooled connection
(as a restart or ``pg_terminate_backend`` does) and check that the next reads and writes
of both pools succeed on fresh connections, and that a live connection is kept.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from orbit.jobs import JobSpec, JobStatus, SQLStore, open_store
from orbit.jobs.models import Outcome
from orbit.jobs.store.postgres_liveness import server_spoke
from tests.conftest import wait_until


@pytest.fixture
def pg_store(_pg_migrated: str) -> Iterator[SQLStore]:
    store = open_store(_pg_migrated)
    yield store
    store.close()


def _backends(url: str) -> set[int]:
    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            " AND backend_type = 'client backend'"
        ).fetchall()
    return {pid for (pid,) in rows}


def _terminate(url: str, pids: set[int]) -> None:
    with psycopg.connect(url, autocommit=True) as conn:
        for pid in pids:
            conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    wait_until(lambda: not (_backends(url) & pids), what="the terminated backends to exit")


def test_connections_the_server_closed_are_replaced_without_an_error(
    pg_store: SQLStore, _pg_migrated: str
) -> None:
    job = pg_store.enqueue(JobSpec("noop"))  # the autocommit pool
    [claimed] = pg_store.claim("w", ["noop"], 1, 30.0)  # the transactional pool
    pg_store.get(job.id)
    pooled = _backends(_pg_migrated)
    assert pooled, "the store pooled no connection"

    _terminate(_pg_migrated, pooled)

    assert pg_store.get(job.id).status is JobStatus.RUNNING
    pg_store.record([Outcome(claimed.lease, JobStatus.COMPLETED, result={"ok": True})])
    assert pg_store.get(job.id).status is JobStatus.COMPLETED
    again = pg_store.enqueue(JobSpec("noop"))
    assert [j.id for j in pg_store.claim("w", ["noop"], 1, 30.0)] == [again.id]
    assert not (_backends(_pg_migrated) & pooled)


def test_a_live_pooled_connection_is_kept(pg_store: SQLStore) -> None:
    job = pg_store.enqueue(JobSpec("noop"))
    engine = pg_store.dialect.autocommit_engine(pg_store.engine)
    with engine.connect() as conn:
        first = conn.execute(sa.text("SELECT pg_backend_pid()")).scalar()
    pg_store.get(job.id)
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT pg_backend_pid()")).scalar() == first


def test_a_closed_socket_is_seen_and_an_idle_one_is_not(_pg_migrated: str) -> None:
    conn = psycopg.connect(_pg_migrated, autocommit=True)
    try:
        conn.execute("SELECT 1")
        assert not server_spoke(conn)
        _terminate(_pg_migrated, {conn.info.backend_pid})
        assert server_spoke(conn)
    finally:
        conn.close()
    assert server_spoke(conn)  # closed on our side too
