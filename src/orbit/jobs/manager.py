"""``JobManager``: the seeds' lifecycle names, as a thin adapter over ``JobClient``.

Code written against the original ``JobManager`` (``create_job, start_job,
update_progress, complete_job, fail_job, get_job``) runs unchanged on the engine. It
adds no rule of its own: jobs started by hand are claimed under a lease (held here for
the later calls), exactly as a worker would, and every write is fenced by that lease.
New code should use ``JobClient`` and a worker instead.

Example:
    >>> manager = JobManager(JobClient(store))
    >>> job = manager.create_job("interview_message", {"message": "hi"})
    >>> manager.start_job(job.id); manager.update_progress(job.id, 50, "Calling AI model...")
    >>> manager.complete_job(job.id, {"answer": "hello"})
"""

from __future__ import annotations

import os
import socket
import uuid
from typing import Any

from orbit.jobs.client import JobClient
from orbit.jobs.errors import LeaseLost
from orbit.jobs.models import JSON, Job, Lease

MANUAL_LEASE_SECONDS = 3600.0


class JobManager:
    """The seeds' ``JobManager`` on top of a ``JobClient``."""

    def __init__(self, client: JobClient) -> None:
        self.client = client
        self._held: dict[uuid.UUID, Lease] = {}
        self._identity = f"{socket.gethostname()}:{os.getpid()}:manual"

    def create_job(
        self,
        job_type: str,
        input_data: dict[str, JSON],
        project_id: uuid.UUID | None = None,
        interview_id: uuid.UUID | None = None,
        **options: Any,
    ) -> Job:
        """Create a pending job (``JobClient.enqueue``)."""
        return self.client.enqueue(
            job_type, input_data, project_id=project_id, interview_id=interview_id, **options
        )

    def get_job(self, job_id: uuid.UUID) -> Job:
        """Read a job (``JobClient.get``)."""
        return self.client.get(job_id)

    def start_job(self, job_id: uuid.UUID) -> Job:
        """Claim this pending job for the caller; later calls use the lease kept here."""
        store = self.client.store
        claimed = store.claim(self._identity, None, 1, MANUAL_LEASE_SECONDS, job_ids=[job_id])
        if not claimed:
            store.get(job_id)  # JobNotFound for an unknown id
            raise LeaseLost(job_id)
        self._held[job_id] = claimed[0].lease
        return claimed[0]

    def update_progress(
        self, job_id: uuid.UUID, percent: float | None, message: str | None
    ) -> None:
        """Record progress on a job this manager started."""
        self.client.store.progress(self._lease(job_id), percent, message)

    def complete_job(self, job_id: uuid.UUID, result: JSON = None) -> None:
        """Complete a job this manager started."""
        self.client.store.complete(self._lease(job_id), result)
        self._held.pop(job_id, None)

    def fail_job(self, job_id: uuid.UUID, error: str, code: str = "handler_error") -> None:
        """Fail a job this manager started (no retry), with ``code`` as its ``error_code``."""
        self.client.store.fail(self._lease(job_id), error, code=code)
        self._held.pop(job_id, None)

    def _lease(self, job_id: uuid.UUID) -> Lease:
        try:
            return self._held[job_id]
        except KeyError:
            raise LeaseLost(job_id) from None
