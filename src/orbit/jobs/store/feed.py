"""The change feed: one watcher of the database per store and process, many subscribers.

Everything in the engine that waits for the database to change subscribes here: the
worker (``RUNNABLE``: there may be work to claim), the event fan-out behind the SSE
streams, long polls, the CLI and parent jobs following their children (``EVENT``: a
job's log grew). The feed itself never reads jobs for its subscribers; it only says what
changed, and each subscriber reads what it needs.

Where changes come from (one source per store, written in the dialect's file):

* PostgreSQL (``postgres.ListenSource``): one ``LISTEN`` connection. Writers send typed
  payloads on one channel, delivered on commit: ``r`` (jobs became runnable) and
  ``e <job_id> <project_id>`` (a job's log grew).
* SQLite (``sqlite.DataVersionSource``): one dedicated connection that checks ``PRAGMA
  data_version`` (it changes whenever another connection, in any process, commits) every
  few milliseconds, and at once when this process's own store committed or another
  process announced a commit (``sqlite_wakeups.py``: a datagram per commit to every other
  watcher of the file). On a change it reads the ids of the new log rows once, only
  while someone follows events.

The store also publishes its own commits in-process (``committed``): ``RUNNABLE`` goes to
the subscribers at once, and the source is poked so the log is looked at now.

Every (re)connect publishes ``RESYNC``: notifications sent while nobody listened are gone,
so every subscriber reads again.

Lifecycle: ``start`` binds the feed to the running loop; the application's lifespan (or a
standalone worker, when nobody started it) owns it and calls ``close``. Subscribers on
other loops are called through their own loop (``call_soon_threadsafe``).

Example:
    >>> signal = store.feed.signal({ChangeKind.RUNNABLE})
    >>> await store.feed.ensure_started()
    >>> await signal.wait(1.0)       # True when woken, False after the timeout
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import enum
import logging
import time
import uuid
from collections.abc import Callable, Collection, Sequence

from orbit.jobs.event_wait import wait_set

log = logging.getLogger("orbit.jobs.feed")

RECONNECT_SECONDS = 1.0
READY_TIMEOUT_SECONDS = 5.0


class ChangeKind(enum.Enum):
    """What a change says."""

    RUNNABLE = "runnable"
    """Jobs may have become runnable (enqueued, retried, requeued, or any SQLite commit)."""
    EVENT = "event"
    """A job's event log grew (``job_id``, ``project_id`` set when known)."""
    RESYNC = "resync"
    """The source (re)connected: changes may have been missed; read everything again."""


@dataclasses.dataclass(frozen=True, slots=True)
class Change:
    """One typed notification of the feed."""

    kind: ChangeKind
    job_id: uuid.UUID | None = None
    project_id: uuid.UUID | None = None


RUNNABLE = Change(ChangeKind.RUNNABLE)
RESYNC = Change(ChangeKind.RESYNC)
Callback = Callable[[Sequence[Change]], None]


class FeedSource:
    """A dialect's way of learning about other processes' commits.

    This default learns nothing from outside: only the store's own commits reach the
    feed (enough for a database nobody else writes to).
    """

    needs_pokes = False
    """Whether ``poke`` does anything (the store skips the call otherwise)."""

    async def run(self, feed: ChangeFeed) -> None:
        """Connect, call ``feed.live()``, then publish changes until cancelled (or raise)."""
        feed.live()
        await asyncio.Event().wait()

    def poke(self) -> None:
        """This process committed events: look now (loop thread)."""

    def announce(self) -> None:
        """This process committed: tell other processes' watchers, where the database
        does not (any thread; never blocks)."""

    def close(self) -> None:
        """Release what ``announce`` holds (the store is closing)."""


@dataclasses.dataclass(eq=False)
class _Subscriber:
    kinds: frozenset[ChangeKind]
    callback: Callback
    loop: asyncio.AbstractEventLoop | None


class ChangeFeed:
    """Fans one source's changes out to every subscriber of this process."""

    def __init__(self, source: FeedSource) -> None:
        self.source = source
        self._subscribers: list[_Subscriber] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._live = False
        self._poke_pending = False
        self._starts = 0

    # -- lifecycle ----------------------------------------------------------------------

    @property
    def running(self) -> bool:
        """Whether the source task is alive on a loop that has not closed."""
        loop, task = self._loop, self._task
        return task is not None and not task.done() and loop is not None and not loop.is_closed()

    @property
    def watchers(self) -> int:
        """How many source tasks this feed runs (0 or 1, whoever subscribes)."""
        return 1 if self.running else 0

    @property
    def starts(self) -> int:
        """How many times a source task was started (introspection for tests)."""
        return self._starts

    async def start(self) -> None:
        """Start watching on the running loop (no-op when already running)."""
        if self.running:
            return
        self._loop = asyncio.get_running_loop()
        self._live = False
        self._poke_pending = False
        self._starts += 1
        self._task = self._loop.create_task(self._supervise(), name="orbit-change-feed")

    async def ensure_started(self, timeout: float = READY_TIMEOUT_SECONDS) -> None:
        """Start if needed and wait (at most ``timeout``) until the source is live.

        Returns after the timeout too when the database cannot be reached: subscribers
        re-read on their own timers, so they are late, never stuck.
        """
        await self.start()
        deadline = time.monotonic() + timeout
        while not self._live and self.running and time.monotonic() < deadline:
            await asyncio.sleep(0.002)

    async def close(self) -> None:
        """Stop watching, then tell every subscriber to read again (nothing more will come)."""
        task, self._task = self._task, None
        self._live = False
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, RuntimeError):
                await task
        self.publish([RESYNC])

    async def _supervise(self) -> None:
        while True:
            try:
                await self.source.run(self)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # keep watching whatever happened; say what it was
                log.warning("change feed source failed (%s); restarting", exc, exc_info=True)
            self._live = False
            await asyncio.sleep(RECONNECT_SECONDS)

    def live(self) -> None:
        """The source is connected: from now on no change is missed (source only)."""
        self._live = True
        self.publish([RESYNC, RUNNABLE])

    # -- subscribers --------------------------------------------------------------------

    def subscribe(
        self, kinds: Collection[ChangeKind], callback: Callback, *, threadsafe: bool = False
    ) -> Callable[[], None]:
        """Call ``callback(changes)`` for changes of ``kinds``; returns an unsubscribe.

        The callback runs on the loop it subscribed from, unless ``threadsafe`` says it
        may run on any thread (then it must be quick and never raise).
        """
        loop = None if threadsafe else asyncio.get_running_loop()
        subscriber = _Subscriber(frozenset(kinds) | {ChangeKind.RESYNC}, callback, loop)
        self._subscribers = [*self._subscribers, subscriber]

        def unsubscribe() -> None:
            self._subscribers = [s for s in self._subscribers if s is not subscriber]

        return unsubscribe

    def signal(self, kinds: Collection[ChangeKind]) -> FeedSignal:
        """A coalescing wake-up for ``kinds`` bound to the running loop (e.g. the worker's)."""
        return FeedSignal(self, kinds)

    @property
    def wants_events(self) -> bool:
        """Whether anyone follows ``EVENT`` (SQLite reads the log only then)."""
        return any(ChangeKind.EVENT in s.kinds for s in self._subscribers)

    def publish(self, changes: Sequence[Change]) -> None:
        """Hand ``changes`` to every interested subscriber (any thread)."""
        for subscriber in self._subscribers:
            mine = [c for c in changes if c.kind in subscriber.kinds]
            if not mine:
                continue
            loop = subscriber.loop
            if loop is None or _running_loop() is loop:
                subscriber.callback(mine)
            elif not loop.is_closed():
                with contextlib.suppress(RuntimeError):  # that loop is closing
                    loop.call_soon_threadsafe(subscriber.callback, mine)

    def committed(self, *, runnable: bool) -> None:
        """The store committed events in this process (any thread; cheap when idle)."""
        self.source.announce()
        if runnable:
            self.publish([RUNNABLE])
        # Pokes only speed up event followers; the worker got RUNNABLE above already.
        if not self.source.needs_pokes or self._poke_pending or not self._live:
            return
        if not self.wants_events:
            return
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        self._poke_pending = True
        with contextlib.suppress(RuntimeError):  # the loop is closing
            loop.call_soon_threadsafe(self._poke)

    def _poke(self) -> None:
        self._poke_pending = False
        self.source.poke()


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


class FeedSignal:
    """An ``asyncio.Event``-like wake-up fed by the feed; several changes make one wake-up."""

    def __init__(self, feed: ChangeFeed, kinds: Collection[ChangeKind]) -> None:
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self._pending = False
        self.unsubscribe = feed.subscribe(kinds, self._deliver, threadsafe=True)

    def _deliver(self, _changes: Sequence[Change]) -> None:
        if _running_loop() is self._loop:
            self._event.set()
            return
        if self._pending or self._loop.is_closed():
            return
        self._pending = True
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._set)

    def _set(self) -> None:
        self._pending = False
        self._event.set()

    def notify(self) -> None:
        """Wake the waiter (loop thread)."""
        self._event.set()

    async def wait(self, timeout: float | None) -> bool:
        """Wait for a change or ``timeout`` seconds; True when woken. Clears the flag."""
        try:
            return await wait_set(self._event, timeout)
        finally:
            self._event.clear()

    def close(self) -> None:
        """Stop receiving changes."""
        self.unsubscribe()
