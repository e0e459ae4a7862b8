"""The worker: registry of handlers, their context, and the claim/run/record loop."""

from orbit.jobs.worker.context import JobContext, SyncJobContext
from orbit.jobs.worker.handle import JobHandle
from orbit.jobs.worker.registry import JobDefinition, JobRegistry
from orbit.jobs.worker.runner import Worker, WorkerConfig

__all__ = [
    "JobContext",
    "JobDefinition",
    "JobHandle",
    "JobRegistry",
    "SyncJobContext",
    "Worker",
    "WorkerConfig",
]
