"""What a handler receives: the job, progress, steps, events, children and the cancel flag.

Async handlers get ``JobContext`` (``await ctx.progress(...)``); sync handlers, which run
in threads, get ``SyncJobContext`` (``ctx.progress(...)``). Both see ``ctx.cancelled``
within a second of a client's cancel request; ``raise_if_cancelled()`` ends the job
``cancelled``. Every write presents the lease: after the lease is lost, writes raise
``LeaseLost`` and the worker drops the result. That includes writes about other jobs
(``enqueue_child``, ``cancel``) and the application's own rows written through
``guarded(write)``.

Steps make multi-step handlers resumable: ``step(name, write)`` runs ``write(conn)`` and
records that the step is done in one transaction; after a crash the retried attempt gets
the saved result back instead of running the step again (see ``checkpoint``).
"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from sqlalchemy.engine import Connection

from orbit.jobs.client import JobClient
from orbit.jobs.errors import Cancelled, WouldWait
from orbit.jobs.events import Subscription
from orbit.jobs.models import JSON, Job, JobFilter, JobSpec, Lease
from orbit.jobs.store import SQLStore

_MISSING: Any = object()
T = TypeVar("T")
UNAVAILABLE_RETRY_SECONDS = (0.1, 0.25, 0.5, 1.0, 2.0, 4.0)
"""Pauses between tries of a progress write while the database is away (about 8 s in
all, inside the lease's slack): a restart pauses the handler instead of failing it."""


def _pauses() -> tuple[float | None, ...]:
    """A progress write's tries: a pause after each but the last (``None``)."""
    return (*UNAVAILABLE_RETRY_SECONDS, None)


class _BaseContext:
    def __init__(self, job: Job, store: SQLStore, client: JobClient | None = None) -> None:
        self.job = job
        self.lease: Lease = job.lease
        self._store = store  # the job's own lease-fenced writes
        self._client = client or JobClient(store)  # everything about other jobs
        self._cancel = threading.Event()
        self._steps: dict[str, JSON] | None = None
        self.lease_lost = False

    @property
    def job_id(self) -> uuid.UUID:
        """The running job's id."""
        return self.job.id

    @property
    def attempt(self) -> int:
        """Which attempt this is, starting at 1."""
        return self.job.attempts

    @property
    def cancelled(self) -> bool:
        """True once a client asked to cancel this job (or its time ran out)."""
        return self._cancel.is_set()

    def request_cancel(self) -> None:
        """Set the cancel flag (called by the worker)."""
        self._cancel.set()

    def raise_if_cancelled(self) -> None:
        """Stop here with ``Cancelled`` if cancellation was requested."""
        if self._cancel.is_set():
            raise Cancelled("cancel requested")

    @staticmethod
    def _check(percent: float | None) -> None:
        if percent is not None and not 0 <= percent <= 100:
            raise ValueError(f"progress percent must be within 0..100, got {percent}")

    # Sync implementations; the async context runs them in a thread.

    def _progress(
        self,
        percent: float | None,
        message: str | None,
        pauses: tuple[float | None, ...] | None = None,
    ) -> None:
        self._check(percent)
        for pause in pauses or _pauses():
            try:
                self._store.progress(self.lease, percent, message)
                return
            except Exception as exc:
                if not self._may_retry(exc, pause):
                    raise
                assert pause is not None
                time.sleep(pause)

    def _may_retry(self, exc: Exception, pause: float | None) -> bool:
        # Written twice at worst (the commit went through, its answer did not): one more
        # progress event, which readers take as the same progress.
        return pause is not None and not self._cancel.is_set() and self._store.unavailable(exc)

    def _emit(self, kind: str, payload: dict[str, JSON]) -> int:
        return self._store.append_event(self.lease, kind, payload)

    def _saved(self, name: str) -> JSON:
        if self._steps is None:
            self._steps = self._store.steps(self.job.id)
        return self._steps.get(name, _MISSING)

    def _step(self, name: str, write: Callable[[Connection], JSON]) -> JSON:
        saved = self._saved(name)
        if saved is not _MISSING:
            return saved
        result = self._store.run_step(self.lease, name, write)
        assert self._steps is not None
        self._steps[name] = result
        return result

    def _enqueue_child(
        self, job_type: str, input_data: Mapping[str, JSON], key: str, **options: Any
    ) -> Job:
        spec = JobSpec(
            job_type,
            input_data,
            parent_id=self.job.id,
            project_id=options.pop("project_id", self.job.project_id),
            interview_id=options.pop("interview_id", self.job.interview_id),
            idempotency_key=f"{self.job.id}:{key}",  # a re-run parent finds its children
            **options,
        )
        # The one door (defaults, idempotency), guarded by this job's lease.
        return self._client.enqueue_spec(spec, under=self.lease)

    def _get(self, job_id: uuid.UUID) -> Job:
        return self._client.get(job_id)

    def _children(self) -> list[Job]:
        children: list[Job] = []
        cursor = None
        while True:
            page = self._client.list(JobFilter(parent_id=self.job.id), 200, cursor)
            children.extend(page.items)
            if page.next_cursor is None:
                return children
            cursor = page.next_cursor

    def _cancel_job(self, job_id: uuid.UUID) -> Job:
        return self._client.cancel(job_id, under=self.lease)

    def guarded_blocking(self, write: Callable[[Connection], T]) -> T:
        """``guarded`` that blocks the calling thread, whichever the context.

        For callbacks that run outside the handler's own flow (a provider's usage
        recorder, say); on the event loop, prefer ``await ctx.guarded(write)``.
        """
        return self._store.guarded(self.lease, write)


class JobContext(_BaseContext):
    """Context for async handlers."""

    async def progress(self, percent: float | None, message: str | None = None) -> None:
        """Record progress (0-100, or ``None`` when unknown) and a human-readable message."""
        self._check(percent)
        pauses = _pauses()
        try:
            # SQLite with its write lock free at once: a commit of about 0.1 ms, written
            # here on the loop, is cheaper than the hop to a thread and back.
            self._store.progress(self.lease, percent, message, wait=False)
            return
        except WouldWait:
            pass  # the lock is taken, or a database server: in a thread, as any write
        except Exception as exc:  # the first try of the same schedule as the thread's
            if not self._may_retry(exc, pauses[0]):
                raise
            await asyncio.sleep(pauses[0] or 0)
            pauses = pauses[1:]
        await asyncio.to_thread(self._progress, percent, message, pauses)

    async def emit(self, kind: str, payload: dict[str, JSON]) -> int:
        """Append a custom event (e.g. ``token``) to the job's log; returns its ``seq``."""
        return await asyncio.to_thread(self._emit, kind, payload)

    async def checkpoint(self, name: str, default: JSON = None) -> JSON:
        """The saved result of step ``name`` from an earlier attempt, else ``default``."""
        saved = await asyncio.to_thread(self._saved, name)
        return default if saved is _MISSING else saved

    async def step(self, name: str, write: Callable[[Connection], JSON]) -> JSON:
        """Run ``write(conn)`` once per job, committed together with its checkpoint."""
        return await asyncio.to_thread(self._step, name, write)

    async def guarded(self, write: Callable[[Connection], T]) -> T:
        """Run ``write(conn)`` in a transaction that still holds this job's lease.

        For the application's rows about this job; raises ``LeaseLost`` (nothing written)
        once the lease is gone. Unlike ``step``, nothing is checkpointed.

        Example:
            >>> await ctx.guarded(lambda conn: conn.execute(sa.insert(usage), row))
        """
        return await asyncio.to_thread(self.guarded_blocking, write)

    async def enqueue_child(
        self, job_type: str, input_data: Mapping[str, JSON], key: str, **options: Any
    ) -> Job:
        """Enqueue a child job (``parent_id`` = this job); ``key`` makes it idempotent."""
        return await asyncio.to_thread(self._enqueue_child, job_type, input_data, key, **options)

    async def get_job(self, job_id: uuid.UUID) -> Job:
        """Read any job (e.g. a child, to follow its progress)."""
        return await asyncio.to_thread(self._get, job_id)

    async def children(self) -> list[Job]:
        """This job's children (``parent_id`` = this job), newest first."""
        return await asyncio.to_thread(self._children)

    async def cancel(self, job_id: uuid.UUID) -> Job:
        """Cancel another job (e.g. a child); raises ``InvalidTransition`` if it finished."""
        return await asyncio.to_thread(self._cancel_job, job_id)

    async def subscribe(self, job_ids: Iterable[uuid.UUID]) -> Subscription:
        """Wake-ups whenever one of these jobs (e.g. the children) changes.

        Example:
            >>> async with await ctx.subscribe(child_ids) as changes:
            ...     while not all((await ctx.get_job(c)).finished for c in child_ids):
            ...         await changes.wait(5.0)
        """
        return await self._client.subscribe(job_ids=job_ids)


class SyncJobContext(_BaseContext):
    """Context for sync handlers (they run in a worker thread)."""

    def progress(self, percent: float | None, message: str | None = None) -> None:
        """Record progress (0-100, or ``None`` when unknown) and a human-readable message."""
        self._progress(percent, message)

    def emit(self, kind: str, payload: dict[str, JSON]) -> int:
        """Append a custom event to the job's log; returns its ``seq``."""
        return self._emit(kind, payload)

    def checkpoint(self, name: str, default: JSON = None) -> JSON:
        """The saved result of step ``name`` from an earlier attempt, else ``default``."""
        saved = self._saved(name)
        return default if saved is _MISSING else saved

    def step(self, name: str, write: Callable[[Connection], JSON]) -> JSON:
        """Run ``write(conn)`` once per job, committed together with its checkpoint."""
        return self._step(name, write)

    def guarded(self, write: Callable[[Connection], T]) -> T:
        """Run ``write(conn)`` in a transaction that still holds this job's lease."""
        return self.guarded_blocking(write)

    def enqueue_child(
        self, job_type: str, input_data: Mapping[str, JSON], key: str, **options: Any
    ) -> Job:
        """Enqueue a child job (``parent_id`` = this job); ``key`` makes it idempotent."""
        return self._enqueue_child(job_type, input_data, key, **options)

    def get_job(self, job_id: uuid.UUID) -> Job:
        """Read any job."""
        return self._get(job_id)

    def children(self) -> list[Job]:
        """This job's children, newest first."""
        return self._children()

    def cancel(self, job_id: uuid.UUID) -> Job:
        """Cancel another job (e.g. a child)."""
        return self._cancel_job(job_id)
