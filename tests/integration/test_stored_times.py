"""Times come back from the jobs table as the UTC instants that went in, on both databases.

SQLite keeps naive UTC text (``schema.UTCDateTime``; the store's raw writes produce the
same text, ``sqlite._time_text``), compared as text: the edges of the calendar,
microseconds, a value stored with another offset and a time that another writer stored as
SQL text all come back aware and equal, and due jobs are claimed in time order.
"""

from __future__ import annotations

import datetime as dt

import pytest
import sqlalchemy as sa

from orbit.jobs import JobClient, SQLStore
from orbit.jobs.store.schema import jobs

UTC = dt.UTC
INSTANTS = [
    dt.datetime(2026, 12, 7, 14, 0, 0, tzinfo=UTC),
    dt.datetime(2026, 12, 7, 14, 0, 0, 123456, tzinfo=UTC),
    dt.datetime(1970, 1, 1, tzinfo=UTC),
    dt.datetime(9999, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
    dt.datetime(2026, 1, 1, 5, 30, tzinfo=dt.timezone(dt.timedelta(hours=3, minutes=30))),
]


@pytest.mark.parametrize("instant", INSTANTS, ids=str)
def test_a_stored_time_comes_back_as_the_same_utc_instant(
    store: SQLStore, instant: dt.datetime
) -> None:
    client = JobClient(store)
    job = client.enqueue("noop")
    with store.engine.begin() as conn:
        conn.execute(sa.update(jobs).where(jobs.c.id == job.id).values(cancel_requested_at=instant))
    for read in (client.get(job.id), client.list().items[0]):
        assert read.cancel_requested_at == instant
        assert read.cancel_requested_at.utcoffset() == dt.timedelta(0)


def test_a_time_stored_as_sql_text_by_another_writer_is_read_as_utc(store: SQLStore) -> None:
    client = JobClient(store)
    job = client.enqueue("noop")
    now_sql = "CURRENT_TIMESTAMP" if store.dialect.name == "sqlite" else "now()"
    with store.engine.begin() as conn:
        conn.execute(
            sa.update(jobs).where(jobs.c.id == job.id).values(cancel_requested_at=sa.text(now_sql))
        )
        database_now = conn.execute(sa.select(sa.text(now_sql))).scalar_one()
    read = client.get(job.id)
    assert read.cancel_requested_at is not None
    assert read.cancel_requested_at.utcoffset() == dt.timedelta(0)
    if isinstance(database_now, str):  # SQLite: naive UTC text, to the second
        database_now = dt.datetime.fromisoformat(database_now).replace(tzinfo=UTC)
    assert abs(read.cancel_requested_at - database_now) < dt.timedelta(seconds=2)


def test_due_jobs_are_claimed_in_run_at_order_across_every_year(store: SQLStore) -> None:
    # SQLite compares the stored text: years before 1000 must keep four digits.
    client = JobClient(store)
    years = (2026, 999, 1000, 5)
    ids = {
        year: client.enqueue("noop", run_at=dt.datetime(year, 6, 1, tzinfo=UTC)).id
        for year in years
    }
    order = [store.claim("w", None, 1, 30)[0].id for _ in years]
    assert order == [ids[year] for year in sorted(years)]
