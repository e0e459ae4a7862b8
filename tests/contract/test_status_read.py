"""The status read (``JobClient.get``, also behind ``GET /jobs/{id}``): one autocommit
statement, the same job as every other read, and nothing left behind on the pool."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from orbit.jobs import JobClient, JobFilter, JobNotFound, JobSpec, ManualClock, SQLStore


def test_a_status_read_starts_no_transaction(st: SQLStore) -> None:
    job = st.enqueue(JobSpec("noop"))
    began: list[object] = []

    def on_begin(conn: object) -> None:
        began.append(conn)

    event.listen(st.engine, "begin", on_begin)
    try:
        JobClient(st).get(job.id)
    finally:
        event.remove(st.engine, "begin", on_begin)
    assert began == []


def test_a_status_read_returns_every_field_as_the_list_does(
    st: SQLStore, clock: ManualClock
) -> None:
    project = uuid.uuid4()
    job = st.enqueue(JobSpec("noop", {"a": [1, "é"]}, project_id=project, idempotency_key="k"))
    (claimed,) = st.claim("w1", None, 1, 30)
    st.progress(claimed.lease, 42.5, "half")
    st.complete(claimed.lease, {"ok": True})
    got = JobClient(st).get(job.id)
    (listed,) = st.list(JobFilter()).items
    assert got == listed
    assert got.result == {"ok": True} and got.input_data == {"a": [1, "é"]}
    assert got.created_at.tzinfo is not None and got.project_id == project


def test_a_status_read_of_an_unknown_job_raises_job_not_found(st: SQLStore) -> None:
    with pytest.raises(JobNotFound):
        JobClient(st).get(uuid.uuid4())


def test_writes_after_many_status_reads_are_still_transactions(st: SQLStore) -> None:
    job = st.enqueue(JobSpec("noop"))
    client = JobClient(st)
    for _ in range(20):
        client.get(job.id)
    with st.engine.connect() as conn:
        raw = conn.connection.dbapi_connection
        assert raw is not None
        assert getattr(raw, "autocommit", False) is False


def test_a_failed_status_read_raises_sqlalchemys_error_as_every_read_does(st: SQLStore) -> None:
    job = st.enqueue(JobSpec("noop"))
    client = JobClient(st)
    client.get(job.id)  # the statement is compiled and the pool warm
    with st.engine.begin() as conn:  # the table goes away under the read
        conn.execute(sa.text("ALTER TABLE jobs RENAME TO jobs_gone"))
    try:
        with pytest.raises(sa.exc.DBAPIError):
            client.get(job.id)
    finally:
        with st.engine.begin() as conn:
            conn.execute(sa.text("ALTER TABLE jobs_gone RENAME TO jobs"))
    assert client.get(job.id).id == job.id
