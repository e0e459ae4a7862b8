"""``first_row``: a read compiled once and run on the driver returns what SQLAlchemy would."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
import sqlalchemy as sa

from orbit.jobs import JobClient, SQLStore, first_row
from orbit.jobs.store.lone_reads import LoneRead
from orbit.jobs.store.schema import jobs

BY_KEY = (
    sa.select(
        jobs.c.id,
        jobs.c.created_at,
        jobs.c.input_data,
        jobs.c.project_id,
        jobs.c.parent_id,  # NULL
        jobs.c.priority,
        sa.exists().where(jobs.c.parent_id == jobs.c.id),  # a Boolean: False
    )
    .where(
        jobs.c.idempotency_key == sa.bindparam("key"),
        jobs.c.created_at >= sa.bindparam("since", type_=jobs.c.created_at.type),
        jobs.c.status == "pending",  # a value written in the statement
    )
    .limit(1)
)


def test_a_lone_read_decodes_its_row_as_sqlalchemy_does(store: SQLStore) -> None:
    client = JobClient(store)
    project = uuid.uuid4()
    job = client.enqueue("report", {"n": [1, "two"]}, project_id=project, idempotency_key="k")
    since = job.created_at - dt.timedelta(seconds=1)
    values = {"key": "k", "since": since}
    with store.engine.connect() as conn:
        expected = tuple(conn.execute(BY_KEY, values).one())
    read = LoneRead(BY_KEY, store.lone_reads)
    for _ in range(2):  # the first row fixes the decoders; the second reuses them
        assert read.first(values) == expected
        assert not read.needs_description
    row = first_row(store.lone_reads, BY_KEY, values)
    assert row == expected == (job.id, job.created_at, {"n": [1, "two"]}, project, None, 0, False)
    assert row is not None and row[1].tzinfo is not None


def test_a_lone_read_of_no_row_is_none(store: SQLStore) -> None:
    JobClient(store).enqueue("report", idempotency_key="k")
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert first_row(store.lone_reads, BY_KEY, {"key": "k", "since": later}) is None
    assert first_row(store.lone_reads, BY_KEY, {"key": "other", "since": later}) is None


def test_a_lone_read_takes_no_list_parameters(store: SQLStore) -> None:
    listed = sa.select(jobs.c.id).where(jobs.c.id.in_(sa.bindparam("ids", expanding=True)))
    with pytest.raises(ValueError, match="IN list"):
        LoneRead(listed, store.lone_reads)
