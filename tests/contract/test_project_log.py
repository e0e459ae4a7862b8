"""A project stream resumed far behind (``?after=0``) reads its own project's events, not
the whole log: the read jumps over long runs of other projects' events, and still hands
out every event of the project, in order, once."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from orbit.jobs import JobSpec, SQLStore
from orbit.jobs.log_cursor import LogCursor, LogEntry

OTHERS = 3000
PAGE = 500


def _follow(st: SQLStore, project: uuid.UUID, after: int) -> tuple[list[LogEntry], int]:
    """Follow the project's log from ``after`` until caught up; the entries and the reads."""
    cursor = LogCursor(after, grace_seconds=0)
    out: list[LogEntry] = []
    reads = 0
    while True:
        read = st.read_log(cursor.position, project, limit=PAGE)
        reads += 1
        out.extend(cursor.advance(read))
        if not cursor.held and len(read.entries) < PAGE:
            return out, reads
        assert reads < 100, "the cursor does not move"


def test_a_project_stream_from_the_start_skips_other_projects_events(st: SQLStore) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    early = st.enqueue(JobSpec("t", project_id=mine))
    st.enqueue_many([JobSpec("t", project_id=other) for _ in range(OTHERS)])
    late = st.enqueue(JobSpec("t", project_id=mine))
    st.cancel(late.id)

    entries, reads = _follow(st, mine, 0)

    assert [(e.job_id, e.seq) for e in entries] == [(early.id, 1), (late.id, 1), (late.id, 2)]
    # Before: ceil(3003 / 500) = 7 pages through every project's events.
    assert reads <= 3, reads


def test_a_jump_never_passes_an_event_of_the_project(st: SQLStore) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    expected = []
    for _ in range(3):
        st.enqueue_many([JobSpec("t", project_id=other) for _ in range(700)])
        job = st.enqueue(JobSpec("t", project_id=mine))
        expected.append((job.id, 1))
    entries, _ = _follow(st, mine, 0)
    assert [(e.job_id, e.seq) for e in entries] == expected
    # Resuming from the middle hands out exactly what follows.
    with st.engine.connect() as conn:
        first = conn.execute(
            sa.text("SELECT min(id) FROM job_events WHERE job_id = :j"),
            {"j": expected[1][0] if st.dialect.name == "postgresql" else expected[1][0].hex},
        ).scalar_one()
    entries, _ = _follow(st, mine, int(first) - 1)
    assert [(e.job_id, e.seq) for e in entries] == expected[1:]


def test_a_read_far_behind_touches_the_projects_rows_not_the_logs(st: SQLStore) -> None:
    mine, other = uuid.uuid4(), uuid.uuid4()
    st.enqueue_many([JobSpec("t", project_id=other) for _ in range(OTHERS)])
    st.enqueue(JobSpec("t", project_id=mine))
    read = st.read_log(0, mine, limit=PAGE)
    # Before: the first 500 rows of the log, none of them the project's.
    assert [e.mine for e in read.entries] == [True]
