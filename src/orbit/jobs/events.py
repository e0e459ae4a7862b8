"""Live fan-out of job events: in-memory wake-ups by job, project or everything.

The event log (``job_events``) is the truth; wake-ups only say "read it again". A
subscriber (an SSE stream, a long poll, a parent following its children, the CLI)
therefore always works the same way:

1. subscribe (``await client.subscribe(job_id=...)``) — from now on no wake-up is lost;
2. read the log from its cursor and hand out what is new;
3. ``await subscription.wait(timeout)`` and go back to 2.

Duplicates are dropped by cursor (a job's ``seq``, or the global ``job_events.id``), so a
spurious or repeated wake-up costs one read and nothing else.

Many subscribers of one job or project wake together and would each read the same rows:
``SharedReads`` (``hub.reads``) makes that one database read per wake-up, shared by every
subscriber at the same cursor.

The hub does no I/O: it subscribes to the store's change feed (``store/feed.py``) for
``EVENT`` changes and wakes the subscriptions whose keys match. The feed is the one
watcher of the database in the process (one ``LISTEN`` connection on PostgreSQL, one
``data_version`` watcher on SQLite), shared with the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable, Hashable, Iterable, Sequence
from types import TracebackType
from typing import Any, TypeVar

from orbit.jobs.event_wait import wait_set
from orbit.jobs.store.feed import Change, ChangeFeed, ChangeKind

Key = tuple[str, uuid.UUID]
T = TypeVar("T")


def job_key(job_id: uuid.UUID) -> Key:
    """The wake-up key of one job."""
    return ("job", job_id)


def project_key(project_id: uuid.UUID) -> Key:
    """The wake-up key of every job of one project."""
    return ("project", project_id)


class Subscription:
    """Wake-ups for some keys (jobs, a project) or for every event; a context manager.

    Wake-ups coalesce: several before a ``wait`` make it return once. Bound to the loop
    it was created on; ``wake`` may be called from any thread.
    """

    def __init__(self, hub: EventHub, keys: frozenset[Key], everything: bool) -> None:
        self._hub = hub
        self.keys = keys
        self.everything = everything
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()
        self.closed = False

    def wake(self) -> None:
        """Make the pending or next ``wait`` return."""
        try:
            same_loop = asyncio.get_running_loop() is self._loop
        except RuntimeError:
            same_loop = False
        if same_loop:
            self._event.set()
        elif not self._loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop is closing
                self._loop.call_soon_threadsafe(self._event.set)

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for a wake-up; True when woken, False after ``timeout`` seconds.

        The flag is cleared before returning, so read the log *after* this returns: a
        wake-up that arrives during that read makes the next ``wait`` return at once.
        """
        if not await wait_set(self._event, timeout):
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


class SharedReads:
    """One read for every subscriber that asks for the same rows before the read starts.

    ``read(key, fn)`` awaits ``fn()`` (a read of the log at one cursor; ``key`` names the
    rows: what is followed and the cursor). The first subscriber to ask schedules the read
    for the next turn of the event loop; every subscriber asking for the same ``key``
    until then (those woken by the same change run in between) gets the same result. A
    read that has started is never handed to a later asker: it may predate the change
    that woke that one, so the later asker starts a read of its own.
    """

    def __init__(self) -> None:
        self._waiting: dict[tuple[Hashable, asyncio.AbstractEventLoop], asyncio.Future[Any]] = {}
        self.busy = 0
        """Reads asked for or running, not finished yet."""

    async def read(self, key: Hashable, fn: Callable[[], Awaitable[T]]) -> T:
        """The result of ``fn()``, or of the same read another subscriber scheduled."""
        loop = asyncio.get_running_loop()
        slot = (key, loop)
        future = self._waiting.get(slot)
        if future is None:
            future = loop.create_future()
            self._waiting[slot] = future
            self.busy += 1
            loop.call_soon(self._start, slot, future, fn)
        result: T = await asyncio.shield(future)
        return result

    def _start(
        self,
        slot: tuple[Hashable, asyncio.AbstractEventLoop],
        future: asyncio.Future[Any],
        fn: Callable[[], Awaitable[Any]],
    ) -> None:
        if self._waiting.get(slot) is future:
            del self._waiting[slot]  # from now on a new asker needs a newer read
        try:
            task = asyncio.ensure_future(fn())
        except Exception as error:  # a callback's error would leave every asker waiting
            self.busy -= 1
            future.set_exception(error)
            return

        def settle(done: asyncio.Future[Any]) -> None:
            self.busy -= 1
            if future.done():
                return
            if done.cancelled():
                future.cancel()
            elif (error := done.exception()) is not None:
                future.set_exception(error)
            else:
                future.set_result(done.result())

        task.add_done_callback(settle)
        # Every asker may have gone (disconnected): the error must not go unretrieved.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())


class EventHub:
    """Wakes the subscribers of this process whose jobs or projects changed.

    Fed by ``feed`` (its ``EVENT`` and ``RESYNC`` changes); ``publish`` may also be
    called directly. One hub per store is enough: ``JobClient.subscribe`` keeps it.
    """

    def __init__(self, feed: ChangeFeed) -> None:
        self.feed = feed
        self.reads = SharedReads()
        """Reads of the log shared by the subscribers woken together (streams use it)."""
        self._keyed: dict[Key, set[Subscription]] = {}
        self._everything: set[Subscription] = set()
        self._count = 0
        self._unsubscribe: Callable[[], None] | None = None

    async def subscribe(
        self,
        job_id: uuid.UUID | None = None,
        project_id: uuid.UUID | None = None,
        *,
        job_ids: Iterable[uuid.UUID] = (),
        everything: bool = False,
    ) -> Subscription:
        """Register for wake-ups; returns once the feed is live (or after a few seconds if
        the database cannot be reached: the subscriber's periodic re-reads cover that)."""
        keys = {job_key(j) for j in job_ids}
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
        if self._unsubscribe is None:  # follow the feed only while someone listens
            self._unsubscribe = self.feed.subscribe(
                {ChangeKind.EVENT}, self._on_changes, threadsafe=True
            )
        await self.feed.ensure_started()
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
        if self._count == 0 and self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

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
        """Wake the subscribers of this job, of its project and of everything."""
        # Copies: the feed may call this from another thread while subscribers come and go.
        for subscription in list(self._everything):
            subscription.wake()
        if job_id is not None:
            for subscription in list(self._keyed.get(job_key(job_id), ())):
                subscription.wake()
        if project_id is not None:
            for subscription in list(self._keyed.get(project_key(project_id), ())):
                subscription.wake()

    def wake_all(self) -> None:
        """Wake every subscriber (after a reconnect: notifications may have been missed)."""
        for members in list(self._keyed.values()):
            for subscription in list(members):
                subscription.wake()
        for subscription in list(self._everything):
            subscription.wake()

    def _on_changes(self, changes: Sequence[Change]) -> None:
        for change in changes:
            if change.kind is ChangeKind.RESYNC:
                self.wake_all()
            else:
                self.publish(change.job_id, change.project_id)

    async def close(self) -> None:
        """Stop following the feed and wake every subscriber (they re-read, then carry on
        at their own pace)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        self.wake_all()
