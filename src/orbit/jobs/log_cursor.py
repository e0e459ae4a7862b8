"""The global event log as the engine hands it out, and ``LogCursor`` to walk it.

A stream of many jobs (a project's) resumes from a position in the global log
(``job_events.id``). The store reads the log (``store/log.py``); these are the values it
returns and the pure rules for moving a cursor through them without ever skipping an id
that may still appear. No SQL here: the HTTP layer uses it through ``JobClient``.
"""

from __future__ import annotations

import dataclasses
import logging
import time
import uuid
from collections.abc import Iterable, Mapping

from orbit.jobs.models import JSON, Job

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True, slots=True)
class LogEntry:
    """One row of the global log; ``payload`` only for the reader's own jobs (not steps)."""

    id: int
    job_id: uuid.UUID
    seq: int
    kind: str
    payload: Mapping[str, JSON] | None
    mine: bool


@dataclasses.dataclass(frozen=True, slots=True)
class LogRead:
    """Log rows after a cursor, with the snapshot they were read in.

    ``xmin`` is the PostgreSQL snapshot's lower bound (``None`` on SQLite, where ids are
    visible in commit order): every transaction with an id below it had ended when the
    rows were read. ``fence``, taken only when the read saw ids missing, is a transaction
    id above that of every transaction running then (``store/log.py``'s ``fence``); once a
    read's ``xmin`` reaches it, all of them have ended.

    ``start`` is where the read began (``None``: at the cursor). A read far behind skips
    other projects' events: no id in ``(cursor, start]`` was the reader's in its
    snapshot, so the cursor treats that range like missing ids.
    """

    entries: list[LogEntry]
    xmin: int | None
    fence: int | None
    start: int | None = None


@dataclasses.dataclass(frozen=True, slots=True)
class ProjectSnapshot:
    """A project's active jobs and the log position they reflect, read in one snapshot.

    ``top`` is the largest event id visible then; ``present`` the ids visible in
    ``(floor, top]`` (the ids missing there may belong to transactions that were still
    running); ``fence`` as in ``LogRead``, taken when ids are missing on PostgreSQL.
    """

    jobs: list[Job]
    top: int
    floor: int
    present: frozenset[int]
    fence: int | None
    truncated: bool


@dataclasses.dataclass
class _Hole:
    """Missing ids below ``bound`` seen in a read that took ``fence``, at ``since``."""

    bound: int
    fence: int | None
    since: float


class LogCursor:
    """A position in the global event log that never skips an id which may still appear.

    ``position`` is exact: every id up to it has been handed out, or is known never to
    become visible. It is what a project stream sends as its SSE ``id``.

    Why this is needed on PostgreSQL: an event id is allocated when its row is inserted,
    before the transaction commits. Transaction A can take id 100, transaction B id 101,
    and B commit first. A reader that saw 101 and moved its cursor past it would never see
    100. So the cursor stops in front of a missing id (a "hole") until the hole is
    *settled*: every transaction that was running when the hole was seen has ended. Each
    read carries its snapshot's ``xmin``, and a read that sees ids missing takes a
    ``fence`` F, a transaction id above every one in use then; the hole is settled in a
    read (that one or a later one) with ``xmin >= F``: all transactions that could have
    held the id are over, and if it is still missing it was rolled back or deleted, and it
    is skipped. (The snapshot's own ``xmax`` is no such bound: it is the newest
    *completed* id plus one, and a writer with a newer id may still be running; see
    ``tests/integration/test_log_out_of_order_commits.py``.) Holding costs latency only
    while a hole is open, usually until the other transaction commits a millisecond
    later; ``grace_seconds`` caps the wait when an unrelated long transaction keeps
    ``xmin`` back.

    On SQLite ids become visible in order (one writer at a time, and AUTOINCREMENT never
    reuses them), so holes are deleted rows and are skipped at once.

    ``skip`` holds ids above ``position`` whose effect the client already has (from the
    snapshot); they are passed over without being handed out.
    """

    def __init__(
        self, position: int, *, grace_seconds: float = 2.0, skip: Iterable[int] = ()
    ) -> None:
        self.position = position
        self.grace_seconds = grace_seconds
        self.held = False
        self._skip = set(skip)
        self._hole: _Hole | None = None

    @classmethod
    def after_snapshot(
        cls, snapshot: ProjectSnapshot, *, grace_seconds: float, now: float | None = None
    ) -> LogCursor:
        """The cursor just after ``snapshot``: ids missing from its window are awaited (a
        transaction may commit them later; their effect is not in the snapshot)."""
        missing = [
            i for i in range(snapshot.floor + 1, snapshot.top + 1) if i not in snapshot.present
        ]
        if not missing or snapshot.fence is None:  # SQLite: a missing id is a deleted row
            return cls(snapshot.top, grace_seconds=grace_seconds)
        position = missing[0] - 1
        cursor = cls(
            position,
            grace_seconds=grace_seconds,
            skip=(i for i in snapshot.present if i > position),
        )
        moment = time.monotonic() if now is None else now
        cursor._hole = _Hole(bound=snapshot.top, fence=snapshot.fence, since=moment)
        return cursor

    def advance(self, read: LogRead, now: float | None = None) -> list[LogEntry]:
        """The entries of ``read`` to hand out, in id order; moves ``position`` past them.

        Sets ``held`` when it stopped in front of an unsettled hole: read again after the
        next wake-up of any job (or a short timer) to get past it.
        """
        moment = time.monotonic() if now is None else now
        out: list[LogEntry] = []
        self.held = False
        if read.start is not None and read.start > self.position:
            # The read jumped over ids none of which was ours then; one may still commit.
            if not self._settled(read, read.start + 1, moment):
                self.held = True
                return out
            self.position = read.start
        for entry in read.entries:
            if entry.id <= self.position:
                continue
            if entry.id > self.position + 1 and not self._settled(read, entry.id, moment):
                self.held = True
                break
            self.position = entry.id
            if entry.id in self._skip:
                self._skip.discard(entry.id)
                continue
            if entry.mine:
                out.append(entry)
        if self._hole is not None and self.position >= self._hole.bound:
            self._hole = None
        if self._skip:
            self._skip = {i for i in self._skip if i > self.position}
        return out

    def _settled(self, read: LogRead, first_visible: int, now: float) -> bool:
        """Whether the ids between ``position`` and ``first_visible`` can be passed over."""
        if read.xmin is None:
            return True  # ids are visible in commit order: a hole is a deleted row
        hole = self._hole
        if hole is None or first_visible > hole.bound:
            # The record (if any) saw only ids up to its bound; this hole reaches past it.
            bound = max([read.start or 0, *(entry.id for entry in read.entries)])
            hole = self._hole = _Hole(bound=bound, fence=read.fence, since=now)
        if hole.fence is not None and read.xmin >= hole.fence:
            return True
        if now - hole.since < self.grace_seconds:
            return False
        log.warning(
            "log ids %d..%d still missing after %.1f s (snapshot xmin %s, waiting for fence %s): "
            "passing over them",
            self.position + 1,
            first_visible - 1,
            now - hole.since,
            read.xmin,
            hole.fence,
        )
        return True
