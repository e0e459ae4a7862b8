"""Live fan-out of job events: one listener per process, shared by every subscriber.

The event log (``job_events``) is the truth; wake-ups only say "read it again". A
subscriber (an SSE stream, a long poll) therefore always works the same way:

1. subscribe (``await hub.subscribe(job_id=...)``) — from now on no wake-up is lost;
2. read the log from its cursor and hand out what is new;
3. ``await subscription.wait(timeout)`` and go back to 2.

Duplicates are dropped by cursor (a job's ``seq``, or the global ``job_events.id``), so a
spurious or repeated wake-up costs one read and nothing else.

Where wake-ups come from, one source per process and only while someone subscribes:

* PostgreSQL: one ``LISTEN orbit_events`` connection. Every statement that appends events
  sends ``pg_notify('orbit_events', '<job_id> <project_id>')``, delivered on commit. After
  (re)connecting, every subscriber is woken once, since notifications sent while nobody
  listened are gone.
* SQLite: one task polls ``PRAGMA data_version`` (it changes when any other connection,
  in any process, commits) every few milliseconds; this process's own writes poke it at
  once through ``SQLStore.add_event_listener``. On a change it reads the new rows of the
  log (ids only) and wakes the subscribers of those jobs and projects.

``LogCursor`` is the other half of following many jobs at once: it walks the global log in
id order without skipping ids that PostgreSQL has allocated but not yet committed.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import sqlite3
import time
import uuid
from collections.abc import Iterable
from types import TracebackType

import psycopg

from orbit.jobs.store import SQLStore
from orbit.jobs.store.log import LogEntry, LogRead, ProjectSnapshot

log = logging.getLogger("orbit.jobs.events")

EVENTS_CHANNEL = "orbit_events"
POLL_SECONDS = 0.005
LINGER_SECONDS = 5.0
READY_TIMEOUT_SECONDS = 5.0
RECONNECT_SECONDS = 1.0
_LISTEN_SLICE_SECONDS = 1.0
_TAIL_BATCH = 10_000

Key = tuple[str, uuid.UUID]


def job_key(job_id: uuid.UUID) -> Key:
    """The wake-up key of one job."""
    return ("job", job_id)


def project_key(project_id: uuid.UUID) -> Key:
    """The wake-up key of every job of one project."""
    return ("project", project_id)


class Subscription:
    """Wake-ups for some keys (a job, a project) or for every event; use as a context manager.

    Wake-ups coalesce: several before a ``wait`` make it return once.
    """

    def __init__(self, hub: EventHub, keys: frozenset[Key], everything: bool) -> None:
        self._hub = hub
        self.keys = keys
        self.everything = everything
        self._event = asyncio.Event()
        self.closed = False

    def wake(self) -> None:
        """Make the pending or next ``wait`` return (loop thread only)."""
        with contextlib.suppress(RuntimeError):  # a waiter of a loop that has closed
            self._event.set()

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for a wake-up; True when woken, False after ``timeout`` seconds.

        The flag is cleared before returning, so read the log *after* this returns: a
        wake-up that arrives during that read makes the next ``wait`` return at once.
        """
        if not self._event.is_set():
            try:
                await asyncio.wait_for(self._event.wait(), timeout)
            except TimeoutError:
                return False
        self._event.clear()
        return True

    def follow_everything(self, on: bool) -> None:
        """Also wake on every event of every job (used while waiting for a missing id)."""
        self._hub.set_everything(self, on)

    def close(self) -> None:
        """Stop receiving wake-ups (idempotent)."""
        if not self.closed:
            self.closed = True
            self._hub.remove(self)

    async def __aenter__(self) -> Subscription:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()


class EventHub:
    """Fans wake-ups out from one database listener to every subscriber of this process.

    Bound to the event loop it is first used on. The listener starts with the first
    subscription and stops ``linger_seconds`` after the last one ended.
    """

    def __init__(
        self,
        store: SQLStore,
        *,
        poll_seconds: float = POLL_SECONDS,
        linger_seconds: float = LINGER_SECONDS,
    ) -> None:
        self.store = store
        self.poll_seconds = poll_seconds
        self.linger_seconds = linger_seconds
        self._keyed: dict[Key, set[Subscription]] = {}
        self._everything: set[Subscription] = set()
        self._count = 0
        self._idle_since = time.monotonic()
        self._task: asyncio.Task[None] | None = None
        self._running = False
        self._generation = 0
        self._ready = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._poked = asyncio.Event()
        self._poke_pending = False
        self._closed = False

    # -- subscribers --------------------------------------------------------------------

    async def subscribe(
        self,
        job_id: uuid.UUID | None = None,
        project_id: uuid.UUID | None = None,
        *,
        everything: bool = False,
    ) -> Subscription:
        """Register for wake-ups; returns once the listener is live (or after a few seconds
        if the database cannot be reached: the subscriber's periodic re-reads cover that)."""
        keys = set()
        if job_id is not None:
            keys.add(job_key(job_id))
        if project_id is not None:
            keys.add(project_key(project_id))
        subscription = Subscription(self, frozenset(keys), everything)
        for key in keys:
            self._keyed.setdefault(key, set()).add(subscription)
        if everything:
            self._everything.add(subscription)
        self._count += 1
        self._ensure_running()
        if not self._ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), READY_TIMEOUT_SECONDS)
        return subscription

    def remove(self, subscription: Subscription) -> None:
        """Forget ``subscription`` (``Subscription.close`` calls this)."""
        for key in subscription.keys:
            members = self._keyed.get(key)
            if members is not None:
                members.discard(subscription)
                if not members:
                    del self._keyed[key]
        self._everything.discard(subscription)
        self._count -= 1
        if self._count == 0:
            self._idle_since = time.monotonic()

    def set_everything(self, subscription: Subscription, on: bool) -> None:
        """Add ``subscription`` to, or remove it from, the every-event wake-ups."""
        if subscription.closed:
            return
        if on:
            self._everything.add(subscription)
        elif not subscription.everything:
            self._everything.discard(subscription)

    @property
    def subscribers(self) -> int:
        """How many subscriptions are open."""
        return self._count

    def publish(self, job_id: uuid.UUID | None, project_id: uuid.UUID | None) -> None:
        """Wake the subscribers of this job, of its project and of everything (loop thread)."""
        for subscription in self._everything:
            subscription.wake()
        if job_id is not None:
            for subscription in self._keyed.get(job_key(job_id), ()):
                subscription.wake()
        if project_id is not None:
            for subscription in self._keyed.get(project_key(project_id), ()):
                subscription.wake()

    def wake_all(self) -> None:
        """Wake every subscriber (after a reconnect: notifications may have been missed)."""
        for members in self._keyed.values():
            for subscription in members:
                subscription.wake()
        for subscription in self._everything:
            subscription.wake()

    # -- the listener -------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._closed:
            raise RuntimeError("the event hub is closed")
        loop = asyncio.get_running_loop()
        if loop is not self._loop:
            # First use, or the application runs again on a new loop (a test client used
            # twice): asyncio primitives belong to one loop, so start afresh.
            self._loop = loop
            self._ready, self._poked = asyncio.Event(), asyncio.Event()
            self._poke_pending = False
            self._running = False
            self._generation += 1
        if self._running:
            return
        self._running = True
        self._generation += 1
        self._ready.clear()
        self._task = asyncio.create_task(self._supervise(self._generation), name="orbit-event-hub")

    def _keep_running(self, generation: int) -> bool:
        """False once nobody subscribed for ``linger_seconds``: then the listener stops.

        Runs on the loop with no await between the check and the state change, so a
        subscriber arriving meanwhile either sees the listener running or starts a new one.
        """
        if generation != self._generation:
            return False
        if self._closed or (
            self._count == 0 and time.monotonic() - self._idle_since >= self.linger_seconds
        ):
            self._running = False
            self._ready.clear()
            return False
        return True

    async def _supervise(self, generation: int) -> None:
        source = self._poll_sqlite if self.store.commit_ordered_ids else self._listen_postgres
        try:
            while self._keep_running(generation):
                try:
                    await source(generation)
                except Exception as exc:  # keep listening whatever happened; say what it was
                    if generation == self._generation:
                        self._ready.clear()
                    expected = isinstance(exc, OSError | psycopg.Error | sqlite3.Error)
                    log.warning(
                        "event listener failed (%s); restarting", exc, exc_info=not expected
                    )
                    await asyncio.sleep(RECONNECT_SECONDS)
        finally:
            if generation == self._generation:
                self._running = False
                self._ready.clear()

    def _set_ready(self) -> None:
        self._ready.set()
        self.wake_all()  # anything committed before the listener was live gets re-read

    async def _listen_postgres(self, generation: int) -> None:
        conninfo = self.store.engine.url.set(drivername="postgresql").render_as_string(
            hide_password=False
        )
        async with await psycopg.AsyncConnection.connect(conninfo, autocommit=True) as conn:
            await conn.execute(f"LISTEN {EVENTS_CHANNEL}")
            self._set_ready()
            while self._keep_running(generation):
                async for notify in conn.notifies(timeout=_LISTEN_SLICE_SECONDS):
                    self._publish_payload(notify.payload)

    def _publish_payload(self, payload: str) -> None:
        job_part, _, project_part = payload.partition(" ")
        try:
            job_id = uuid.UUID(job_part) if job_part else None
            project_id = uuid.UUID(project_part) if project_part else None
        except ValueError:
            log.warning("ignoring malformed %s payload %r", EVENTS_CHANNEL, payload)
            return
        self.publish(job_id, project_id)

    def _poke_threadsafe(self) -> None:
        """The store's event listener: runs on the writing thread right after a commit."""
        if self._poke_pending or self._count == 0:
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        self._poke_pending = True
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._poke)

    def _poke(self) -> None:
        self._poke_pending = False
        self._poked.set()

    async def _poll_sqlite(self, generation: int) -> None:
        database = self.store.engine.url.database
        assert database is not None
        conn = sqlite3.connect(database, check_same_thread=False, isolation_level=None)
        unsubscribe = self.store.add_event_listener(self._poke_threadsafe)
        try:
            conn.execute("PRAGMA busy_timeout=1000")
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            last_id = conn.execute("SELECT coalesce(max(id), 0) FROM job_events").fetchone()[0]
            self._set_ready()
            while self._keep_running(generation):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._poked.wait(), self.poll_seconds)
                self._poked.clear()
                current = conn.execute("PRAGMA data_version").fetchone()[0]
                if current != version:
                    version = current
                    last_id = self._tail_sqlite(conn, last_id)
        finally:
            unsubscribe()
            conn.close()

    def _tail_sqlite(self, conn: sqlite3.Connection, last_id: int) -> int:
        """Wake the subscribers of every job whose log grew past ``last_id``."""
        while True:
            rows = conn.execute(
                "SELECT e.id, e.job_id, j.project_id FROM job_events AS e "
                "JOIN jobs AS j ON j.id = e.job_id WHERE e.id > ? ORDER BY e.id LIMIT ?",
                (last_id, _TAIL_BATCH),
            ).fetchall()
            if not rows:
                return last_id
            last_id = rows[-1][0]
            for job_hex, project_hex in {(job, project) for _, job, project in rows}:
                self.publish(uuid.UUID(job_hex), uuid.UUID(project_hex) if project_hex else None)
            if len(rows) < _TAIL_BATCH:
                return last_id

    async def close(self) -> None:
        """Stop the listener now and wake every subscriber (they then re-read and carry on
        polling at their own pace)."""
        self._closed = True
        self._generation += 1
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._running = False
        self.wake_all()


@dataclasses.dataclass
class _Hole:
    """Missing ids below ``bound`` seen in a read whose snapshot had ``xmax``, at ``since``."""

    bound: int
    xmax: int | None
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
    read carries its snapshot's ``xmin``/``xmax``; a hole seen in a read with ``xmax = X``
    is settled in any later read with ``xmin >= X`` (all transactions that could have held
    the id are over; if the id is still missing it was rolled back or deleted, and it is
    skipped). Holding costs latency only while a hole is open, usually until the other
    transaction commits a millisecond later; ``grace_seconds`` caps the wait when an
    unrelated long transaction keeps ``xmin`` back. (Every writer takes its transaction id
    before it allocates event ids — each event insert follows an update of ``jobs`` in the
    same transaction — which is what makes the ``xmax`` test sound.)

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
        if snapshot.xmax is None:
            return cls(snapshot.top, grace_seconds=grace_seconds)
        missing = [
            i for i in range(snapshot.floor + 1, snapshot.top + 1) if i not in snapshot.present
        ]
        if not missing:
            return cls(snapshot.top, grace_seconds=grace_seconds)
        position = missing[0] - 1
        cursor = cls(
            position,
            grace_seconds=grace_seconds,
            skip=(i for i in snapshot.present if i > position),
        )
        moment = time.monotonic() if now is None else now
        cursor._hole = _Hole(bound=snapshot.top, xmax=snapshot.xmax, since=moment)
        return cursor

    def advance(self, read: LogRead, now: float | None = None) -> list[LogEntry]:
        """The entries of ``read`` to hand out, in id order; moves ``position`` past them.

        Sets ``held`` when it stopped in front of an unsettled hole: read again after the
        next wake-up of any job (or a short timer) to get past it.
        """
        moment = time.monotonic() if now is None else now
        out: list[LogEntry] = []
        self.held = False
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
            bound = max(entry.id for entry in read.entries)
            hole = self._hole = _Hole(bound=bound, xmax=read.xmax, since=now)
        if hole.xmax is not None and read.xmin >= hole.xmax:
            return True
        return now - hole.since >= self.grace_seconds
