"""``JobClient``: the one lifecycle API that routes, the CLI and applications use.

It speaks the engine's verbs (``enqueue, get, list, cancel, retry, delete, prune``) and,
for code written against the seeds' ``JobManager``, the same names they used
(``create_job, start_job, update_progress, complete_job, fail_job, get_job``): jobs
started by hand are claimed under a lease that this client keeps for the later calls.

Example:
    >>> client = JobClient(open_store("sqlite:///.orbit/orbit.db"))
    >>> job = client.enqueue("interview_message", {"interview_id": "…", "message": "hi"})
    >>> client.get(job.id).status
    <JobStatus.PENDING: 'pending'>
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime as dt
import os
import socket
import uuid
from collections.abc import Sequence

from orbit.jobs.errors import LeaseLost
from orbit.jobs.models import JSON, Job, JobEvent, JobFilter, JobPage, JobSpec, Lease
from orbit.jobs.states import TERMINAL, JobStatus
from orbit.jobs.store import SQLStore
from orbit.jobs.worker.registry import JobRegistry

MANUAL_LEASE_SECONDS = 3600.0


class JobClient:
    """Enqueue, inspect and steer jobs."""

    def __init__(self, store: SQLStore, registry: JobRegistry | None = None) -> None:
        self.store = store
        self.registry = registry
        self._held: dict[uuid.UUID, Lease] = {}
        self._identity = f"{socket.gethostname()}:{os.getpid()}:manual"

    # -- the engine's verbs -----------------------------------------------------------------

    def enqueue(
        self,
        job_type: str,
        input_data: dict[str, JSON] | None = None,
        **options: object,
    ) -> Job:
        """Enqueue one job; ``options`` are the other ``JobSpec`` fields."""
        spec = JobSpec(job_type, input_data or {}, **options)  # type: ignore[arg-type]
        return self.store.enqueue(self._with_defaults(spec))

    def enqueue_spec(self, spec: JobSpec) -> Job:
        """Enqueue a prepared ``JobSpec``."""
        return self.store.enqueue(self._with_defaults(spec))

    def enqueue_many(self, specs: Sequence[JobSpec]) -> list[uuid.UUID]:
        """Enqueue many jobs in one transaction."""
        return self.store.enqueue_many([self._with_defaults(s) for s in specs])

    def _with_defaults(self, spec: JobSpec) -> JobSpec:
        # A job type's registered max_attempts applies unless the caller chose one.
        if spec.max_attempts is None and self.registry and spec.job_type in self.registry:
            definition = self.registry.get(spec.job_type)
            return dataclasses.replace(spec, max_attempts=definition.max_attempts)
        return spec

    def get(self, job_id: uuid.UUID) -> Job:
        """Read a job; raises ``JobNotFound``."""
        return self.store.get(job_id)

    def find(self, idempotency_key: str) -> Job | None:
        """The job an earlier enqueue with this ``idempotency_key`` created, if any."""
        return self.store.by_idempotency_key(idempotency_key)

    def list(
        self, where: JobFilter | None = None, limit: int = 50, cursor: str | None = None
    ) -> JobPage:
        """A page of jobs, newest first."""
        return self.store.list(where, limit, cursor)

    def events(
        self, job_id: uuid.UUID, after: int = 0, limit: int = 1000
    ) -> builtins.list[JobEvent]:
        """A job's events after sequence number ``after``."""
        return self.store.events_after(job_id, after, limit)

    def cancel(self, job_id: uuid.UUID) -> Job:
        """Cancel a pending job, or ask a running one to stop."""
        return self.store.cancel(job_id)

    def retry(self, job_id: uuid.UUID) -> Job:
        """Run a failed or cancelled job again."""
        return self.store.retry(job_id)

    def delete(self, job_id: uuid.UUID) -> None:
        """Delete a finished job."""
        self.store.delete(job_id)

    def prune(
        self,
        older_than: dt.timedelta,
        statuses: Sequence[JobStatus] = tuple(TERMINAL),
        job_type: str | None = None,
    ) -> int:
        """Delete finished jobs older than ``older_than``; returns how many."""
        return self.store.prune(older_than, statuses, job_type)

    # -- the seeds' JobManager names --------------------------------------------------------

    def create_job(
        self,
        job_type: str,
        input_data: dict[str, JSON],
        project_id: uuid.UUID | None = None,
        interview_id: uuid.UUID | None = None,
        **options: object,
    ) -> Job:
        """Create a pending job (same as ``enqueue``)."""
        return self.enqueue(
            job_type, input_data, project_id=project_id, interview_id=interview_id, **options
        )

    def get_job(self, job_id: uuid.UUID) -> Job:
        """Read a job (same as ``get``)."""
        return self.get(job_id)

    def start_job(self, job_id: uuid.UUID) -> Job:
        """Claim this pending job for the caller; later calls use the lease kept here."""
        claimed = self.store.claim(self._identity, None, 1, MANUAL_LEASE_SECONDS, job_ids=[job_id])
        if not claimed:
            job = self.store.get(job_id)
            raise LeaseLost(job.id)
        self._held[job_id] = claimed[0].lease
        return claimed[0]

    def update_progress(
        self, job_id: uuid.UUID, percent: float | None, message: str | None
    ) -> None:
        """Record progress on a job this client started."""
        self.store.progress(self._lease(job_id), percent, message)

    def complete_job(self, job_id: uuid.UUID, result: JSON = None) -> None:
        """Complete a job this client started."""
        self.store.complete(self._lease(job_id), result)
        self._held.pop(job_id, None)

    def fail_job(self, job_id: uuid.UUID, error: str) -> None:
        """Fail a job this client started (no retry)."""
        self.store.fail(self._lease(job_id), error)
        self._held.pop(job_id, None)

    def _lease(self, job_id: uuid.UUID) -> Lease:
        try:
            return self._held[job_id]
        except KeyError:
            raise LeaseLost(job_id) from None
