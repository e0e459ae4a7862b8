"""``first_row``: a read compiled once and run on the driver returns what SQLAlchemy would."""

from __future__ import annotations

import datetime as dt
import uuid

import sqlalchemy as sa

from orbit.jobs import JobClient, SQLStore, first_row
from orbit.jobs.store.schema import jobs

BY_KEY = sa.select(
    jobs.c.id, jobs.c.created_at, jobs.c.input_data, jobs.c.project_id, jobs.c.priority
).where(
    jobs.c.idempotency_key == sa.bindparam("key"),
    jobs.c.created_at >= sa.bindparam("since", type_=jobs.c.created_at.type),
)


def test_a_lone_read_decodes_its_row_as_sqlalchemy_does(store: SQLStore) -> None:
    client = JobClient(store)
    project = uuid.uuid4()
    job = client.enqueue("report", {"n": [1, "two"]}, project_id=project, idempotency_key="k")
    since = job.created_at - dt.timedelta(seconds=1)
    values = {"key": "k", "since": since}
    with store.engine.connect() as conn:
        expected = tuple(conn.execute(BY_KEY, values).one())
    for _ in range(2):  # the first row fixes the decoders; the second reuses them
        row = first_row(store.lone_reads, BY_KEY, values)
        assert row == expected
        assert row == (job.id, job.created_at, {"n": [1, "two"]}, project, 0)
        assert row is not None and row[1].tzinfo is not None


def test_a_lone_read_of_no_row_is_none(store: SQLStore) -> None:
    JobClient(store).enqueue("report", idempotency_key="k")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert first_row(store.lone_reads, BY_KEY, {"key": "k", "since": later}) is None
    assert first_row(store.lone_reads, BY_KEY, {"key": "other", "since": later}) is None
