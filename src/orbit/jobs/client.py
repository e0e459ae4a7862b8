"""``JobClient``: the one door to the jobs that routes, the CLI and applications use.

Nothing above the engine touches the store: every read, write and subscription goes
through these verbs (``enqueue, get, find, list, count_by_status, events, cancel, retry,
delete, cancel_pending, delete_pending, prune``; ``subscribe, wait, wait_sync`` for live
changes; ``read_log, project_snapshot`` for streams of many jobs). The rules applied on
the way in live here, once:

* registry defaults: a job type's ``max_attempts`` and ``timeout_seconds`` unless the
  caller chose (its backoff is read from the registry when an attempt fails);
* idempotency (``idempotency.py``): a key is scoped to its caller and job type; an
  enqueue whose key is taken returns the job that holds it when the request's fingerprint
  is the same, whether found first or lost in an insert race, and raises
  ``IdempotencyKeyReused`` when it is not; a finished job past ``key_retention`` no longer
  holds its key (``ctx.enqueue_child`` comes here too).

The seeds' ``JobManager`` names live in a thin adapter (``manager.py``).

Example:
    >>> client = JobClient(open_store("sqlite:///.orbit/orbit.db"))
    >>> job = client.enqueue("interview_message", {"interview_id": "…", "message": "hi"})
    >>> client.get(job.id).status
    <JobStatus.PENDING: 'pending'>
"""

from __future__ import annotations

import asyncio
import builtins
import dataclasses
import datetime as dt
import threading
import time
import uuid
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from orbit.jobs.errors import DuplicateIdempotencyKey, IdempotencyKeyReused, WouldWait
from orbit.jobs.events import EventHub, Subscription
from orbit.jobs.idempotency import IdempotencyKey, fingerprint
from orbit.jobs.log_cursor import LogRead, ProjectSnapshot
from orbit.jobs.models import JSON, LOCAL_CALLER, Job, JobEvent, JobFilter, JobPage, JobSpec, Lease
from orbit.jobs.states import TERMINAL, JobStatus
from orbit.jobs.store import SQLStore
from orbit.jobs.store.feed import Change, ChangeKind
from orbit.jobs.store.rows import decode_cursor

if TYPE_CHECKING:  # the registry imports the worker, which uses this client
    from orbit.jobs.worker.registry import JobRegistry

WAIT_RECHECK_SECONDS = 5.0
"""``wait`` reads the job again at least this often (insurance against a lost hint)."""
_ENQUEUE_TRIES = 3


class JobClient:
    """Enqueue, inspect, steer and follow jobs."""

    def __init__(
        self,
        store: SQLStore,
        registry: JobRegistry | None = None,
        *,
        key_retention: dt.timedelta | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.key_retention = key_retention
        """A finished job stops holding its idempotency key this long after it finished
        (``None``: until it is pruned). Orbit passes ``ORBIT_RETENTION_SECONDS``."""
        self._hub: EventHub | None = None

    # -- enqueue ------------------------------------------------------------------------

    def enqueue(
        self,
        job_type: str,
        input_data: dict[str, JSON] | None = None,
        *,
        idempotency_key: str | IdempotencyKey | None = None,
        wait: bool = True,
        **options: object,
    ) -> Job:
        """Enqueue one job; ``options`` are the other ``JobSpec`` fields.

        ``idempotency_key`` is a plain key (in-process scope, input fingerprint) or an
        ``IdempotencyKey`` carrying the caller and request fingerprint (the HTTP layer).
        ``wait=False``: see ``enqueue_spec``.
        """
        if isinstance(idempotency_key, IdempotencyKey):
            options["idempotency_caller"] = idempotency_key.caller
            options["idempotency_fingerprint"] = idempotency_key.fingerprint
            idempotency_key = idempotency_key.key
        spec = JobSpec(job_type, input_data or {}, idempotency_key=idempotency_key, **options)  # type: ignore[arg-type]
        return self.enqueue_spec(spec, wait=wait)

    def enqueue_spec(self, spec: JobSpec, under: Lease | None = None, *, wait: bool = True) -> Job:
        """Enqueue a prepared ``JobSpec``; a taken ``idempotency_key`` returns its job.

        Raises ``IdempotencyKeyReused`` when the key's job came from a different request.
        ``under``: the lease of the job enqueueing it (``ctx.enqueue_child``); the enqueue
        is guarded by it and raises ``LeaseLost`` once that lease is gone.
        ``wait=False``, for a caller on an event loop (``http.without_blocking``): the
        write only if it can go at once (SQLite, its write lock free), else ``WouldWait``
        with nothing written.
        """
        spec = self._with_defaults(spec)

        def insert(spec: JobSpec) -> Job:
            if under is None:
                return self.store.enqueue(spec, wait=wait)
            if not wait:
                raise WouldWait("an enqueue under a lease runs in a thread")
            return self.store.enqueue_under(under, spec)

        key = spec.idempotency_key
        if key is None:
            return insert(spec)
        if spec.idempotency_fingerprint is None:
            spec = dataclasses.replace(
                spec, idempotency_fingerprint=fingerprint(dict(spec.input_data))
            )
        for _ in range(_ENQUEUE_TRIES):
            try:
                return insert(spec)
            except DuplicateIdempotencyKey:
                holder = self._key_holder(spec, wait)
            if holder is not None:
                if holder.idempotency_fingerprint not in (None, spec.idempotency_fingerprint):
                    raise IdempotencyKeyReused(key, holder.id)
                return holder
            # Deleted, or released past retention, since the insert failed: try again.
        return insert(spec)

    def may_work_on_loop(self) -> bool:
        """Whether store work may start on the caller's event loop now (SQLite, a pooled
        connection idle); its writes take ``wait=False`` and may still raise ``WouldWait``.
        On a database server, never: every call waits for the network."""
        return self.store.may_work_on_loop()

    def _key_holder(self, spec: JobSpec, wait: bool = True) -> Job | None:
        """The live job holding ``spec``'s key; one past retention gives it up here."""
        for job in self.store.by_idempotency_key(
            spec.idempotency_key, spec.idempotency_caller, spec.job_type
        ):
            if not self._key_expired(job):
                return job
            if not wait:
                raise WouldWait("releasing an expired key is a write of its own")
            self.store.release_idempotency_key(job.id, self._key_cutoff())
        return None

    def _key_cutoff(self) -> dt.datetime:
        assert self.key_retention is not None
        return self.store.clock.now() - self.key_retention

    def _key_expired(self, job: Job) -> bool:
        return (
            self.key_retention is not None
            and job.completed_at is not None
            and job.finished
            and job.completed_at <= self._key_cutoff()
        )

    def enqueue_many(self, specs: Sequence[JobSpec]) -> list[uuid.UUID]:
        """Enqueue many jobs in one transaction."""
        return self.store.enqueue_many([self._with_defaults(s) for s in specs])

    def _with_defaults(self, spec: JobSpec) -> JobSpec:
        if self.registry is None or spec.job_type not in self.registry:
            return spec
        definition = self.registry.get(spec.job_type)
        return dataclasses.replace(
            spec,
            max_attempts=spec.max_attempts or definition.max_attempts,
            timeout_seconds=spec.timeout_seconds or definition.timeout_seconds,
        )

    # -- reads --------------------------------------------------------------------------

    def get(self, job_id: uuid.UUID) -> Job:
        """Read a job; raises ``JobNotFound``."""
        return self.store.get(job_id)

    def find(
        self,
        idempotency_key: str,
        *,
        caller: str = LOCAL_CALLER,
        fingerprint: str | None = None,
    ) -> Job | None:
        """The job an earlier enqueue with this key (from ``caller``) created, if any.

        With ``fingerprint``, only a job of that same request; a job past ``key_retention``
        no longer counts.
        """
        for job in self.store.by_idempotency_key(idempotency_key, caller):
            if self._key_expired(job):
                continue
            if fingerprint is None or job.idempotency_fingerprint in (None, fingerprint):
                return job
        return None

    def list(
        self, where: JobFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """A page of jobs, newest first."""
        return self.store.list(where, limit, cursor)

    @staticmethod
    def valid_cursor(cursor: str) -> bool:
        """Whether ``cursor`` is a ``next_cursor`` this engine could have handed out."""
        try:
            created, _ = decode_cursor(cursor)
        except Exception:  # a forged cursor can fail in any way
            return False
        return created.tzinfo is not None

    def count_by_status(self, where: JobFilter | None = None) -> dict[JobStatus, int]:
        """How many jobs are in each status (optionally of one type or project)."""
        return self.store.count_by_status(where)

    def events(
        self, job_id: uuid.UUID, after: int = 0, limit: int = 1000
    ) -> builtins.list[JobEvent]:
        """A job's events after sequence number ``after``."""
        return self.store.events_after(job_id, after, limit)

    def read_log(
        self,
        after: int,
        project_id: uuid.UUID | None,
        job_type: str | None = None,
        limit: int = 500,
    ) -> LogRead:
        """Global log rows after ``after``, flagged when they are the project's (any job's when
        ``project_id`` is ``None``)."""
        return self.store.read_log(after, project_id, job_type, limit)

    def project_snapshot(
        self, project_id: uuid.UUID | None, job_type: str | None = None
    ) -> ProjectSnapshot:
        """A project's active jobs and the log position they reflect, in one snapshot."""
        return self.store.project_snapshot(project_id, job_type)

    @property
    def ordered_log(self) -> bool:
        """Whether log ids become visible in increasing order (SQLite; see ``LogCursor``)."""
        return self.store.commit_ordered_ids

    # -- steering -----------------------------------------------------------------------

    def cancel(self, job_id: uuid.UUID, under: Lease | None = None) -> Job:
        """Cancel a pending job, or ask a running one to stop.

        ``under``: the lease of the job cancelling it (``ctx.cancel``), as for enqueues.
        """
        return self.store.cancel(job_id, under)

    def retry(self, job_id: uuid.UUID) -> Job:
        """Run a failed or cancelled job again."""
        return self.store.retry(job_id)

    def delete(self, job_id: uuid.UUID) -> None:
        """Delete a finished job."""
        self.store.delete(job_id)

    def cancel_pending(self, where: JobFilter | None = None) -> builtins.list[uuid.UUID]:
        """Cancel every pending job ``where`` selects (all pending ones without a filter)."""
        return self.store.cancel_pending(where or JobFilter())

    def delete_pending(self, where: JobFilter | None = None) -> int:
        """Delete every pending job ``where`` selects, never started and now forgotten."""
        return self.store.delete_pending(where or JobFilter())

    def prune(
        self,
        older_than: dt.timedelta,
        statuses: Sequence[JobStatus] = tuple(TERMINAL),
        job_type: str | None = None,
    ) -> int:
        """Delete finished jobs older than ``older_than``; returns how many.

        Raises ``ValueError`` for unfinished ``statuses`` (see ``cancel_pending``)."""
        return self.store.prune(older_than, statuses, job_type)

    # -- following ----------------------------------------------------------------------

    @property
    def hub(self) -> EventHub:
        """The in-memory fan-out of this store's change feed (one per client)."""
        if self._hub is None or self._hub.feed is not self.store.feed:
            self._hub = EventHub(self.store.feed)
        return self._hub

    async def subscribe(
        self,
        job_id: uuid.UUID | None = None,
        project_id: uuid.UUID | None = None,
        *,
        job_ids: Iterable[uuid.UUID] = (),
        everything: bool = False,
    ) -> Subscription:
        """Wake-ups when these jobs' (or the project's) logs grow; see ``events.py``."""
        return await self.hub.subscribe(job_id, project_id, job_ids=job_ids, everything=everything)

    async def wait(self, job_id: uuid.UUID, timeout: float | None = None) -> Job:
        """The job once it finished, or as it is after ``timeout`` seconds.

        Woken by the change feed; no timer poll. Raises ``JobNotFound``.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        async with await self.subscribe(job_id=job_id) as subscription:
            while True:
                job = await asyncio.to_thread(self.get, job_id)
                left = None if deadline is None else deadline - time.monotonic()
                if job.finished or (left is not None and left <= 0):
                    return job
                pause = WAIT_RECHECK_SECONDS if left is None else min(left, WAIT_RECHECK_SECONDS)
                await subscription.wait(pause)

    def wait_sync(self, job_id: uuid.UUID, timeout: float | None = None) -> Job:
        """``wait`` for code without an event loop (scripts, sync handlers' threads).

        When the feed already runs on some loop (an app or worker in this process), a
        thread event follows it; otherwise a private loop runs the feed for the wait.
        Raises ``RuntimeError`` on a thread that runs a loop (await ``wait`` there).
        """
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            pass
        else:
            raise RuntimeError("wait_sync would block the running loop; await wait() instead")
        if self.store.feed.running:
            return self._wait_on_running_feed(job_id, timeout)
        return asyncio.run(self._wait_with_own_feed(job_id, timeout))

    async def _wait_with_own_feed(self, job_id: uuid.UUID, timeout: float | None) -> Job:
        try:
            return await self.wait(job_id, timeout)
        finally:
            await self.store.feed.close()  # its loop ends with this wait

    def _wait_on_running_feed(self, job_id: uuid.UUID, timeout: float | None) -> Job:
        woken = threading.Event()

        def deliver(changes: Sequence[Change]) -> None:
            if any(c.job_id in (None, job_id) for c in changes):
                woken.set()

        kinds = {ChangeKind.EVENT}
        unsubscribe = self.store.feed.subscribe(kinds, deliver, threadsafe=True)
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            while True:
                woken.clear()  # before the read: a change after it wakes the next wait
                job = self.get(job_id)
                left = None if deadline is None else deadline - time.monotonic()
                if job.finished or (left is not None and left <= 0):
                    return job
                woken.wait(
                    WAIT_RECHECK_SECONDS if left is None else min(left, WAIT_RECHECK_SECONDS)
                )
        finally:
            unsubscribe()
