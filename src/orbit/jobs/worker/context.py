"""What a handler receives: the job, progress reporting and the cancel flag.

Async handlers get ``JobContext`` (``await ctx.progress(...)``); sync handlers, which run
in threads, get ``SyncJobContext`` (``ctx.progress(...)``). Both see ``ctx.cancelled``
within a second of a client's cancel request; ``raise_if_cancelled()`` ends the job
``cancelled``. Every write presents the lease: after the lease is lost, writes raise
``LeaseLost`` and the worker drops the result.
"""

from __future__ import annotations

import asyncio
import threading
import uuid

from orbit.jobs.errors import Cancelled
from orbit.jobs.models import JSON, Job, Lease
from orbit.jobs.store import SQLStore


class _BaseContext:
    def __init__(self, job: Job, store: SQLStore) -> None:
        self.job = job
        self.lease: Lease = job.lease
        self._store = store
        self._cancel = threading.Event()
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


class JobContext(_BaseContext):
    """Context for async handlers."""

    async def progress(self, percent: float | None, message: str | None = None) -> None:
        """Record progress (0–100, or ``None`` when unknown) and a human-readable message."""
        self._check(percent)
        await asyncio.to_thread(self._store.progress, self.lease, percent, message)

    async def result_of(self, job_id: uuid.UUID) -> JSON:
        """Read another job's result (e.g. a child's)."""
        job = await asyncio.to_thread(self._store.get, job_id)
        return job.result


class SyncJobContext(_BaseContext):
    """Context for sync handlers (they run in a worker thread)."""

    def progress(self, percent: float | None, message: str | None = None) -> None:
        """Record progress (0–100, or ``None`` when unknown) and a human-readable message."""
        self._check(percent)
        self._store.progress(self.lease, percent, message)
