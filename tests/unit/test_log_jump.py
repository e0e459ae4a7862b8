"""``LogCursor`` and reads that jump: a read far behind starts at ``start`` and the cursor
treats the skipped ids like missing ones (PostgreSQL) or passes them at once (SQLite)."""

from __future__ import annotations

import uuid

from orbit.jobs.log_cursor import LogCursor, LogEntry, LogRead

JOB = uuid.uuid4()


def entry(event_id: int) -> LogEntry:
    return LogEntry(event_id, JOB, event_id, "progress", {"n": event_id}, True)


def ids(entries: list[LogEntry]) -> list[int]:
    return [e.id for e in entries]


def test_a_jump_in_commit_order_moves_the_cursor_at_once() -> None:
    cursor = LogCursor(0)
    assert ids(cursor.advance(LogRead([entry(900)], None, None, start=899))) == [900]
    assert cursor.position == 900


def test_a_jump_with_no_event_of_ours_moves_the_cursor_to_the_top() -> None:
    cursor = LogCursor(10)
    assert cursor.advance(LogRead([], None, None, start=5000)) == []
    assert cursor.position == 5000 and not cursor.held


def test_a_jump_waits_until_every_transaction_that_could_fill_it_ended() -> None:
    cursor = LogCursor(0, grace_seconds=10)
    # Ids 1..899 were none of ours when read, but a transaction was still open (xmin below
    # the fence).
    assert cursor.advance(LogRead([entry(900)], 10, 12, start=899), now=0) == []
    assert cursor.held and cursor.position == 0
    # Later: one of ours committed below the jump; the next read starts lower and has it.
    later = LogRead([entry(450), entry(900)], 12, 13, start=449)
    assert ids(cursor.advance(later, now=0.01)) == [450, 900]
    assert cursor.position == 900


def test_a_quiet_database_settles_a_jump_in_the_same_read() -> None:
    cursor = LogCursor(0, grace_seconds=10)
    assert ids(cursor.advance(LogRead([entry(900)], 12, 12, start=899), now=0)) == [900]
