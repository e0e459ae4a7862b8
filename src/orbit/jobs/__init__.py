"""``orbit.jobs``: durable background jobs on SQLite or PostgreSQL, with live progress.

A domain-agnostic engine: a jobs table with atomic claims, leases and heartbeats with
fencing, retries with backoff, timeouts, cancellation, progress and an append-only event
log; a worker; a FastAPI router. It imports nothing else from ``orbit``.

Example:
    >>> store = open_store("sqlite:///.orbit/orbit.db"); migrate.upgrade(store.engine)
    >>> registry = JobRegistry()
    >>> @registry.job("hello")
    ... async def hello(ctx, name: str) -> dict:
    ...     await ctx.progress(50, "Saying hello...")
    ...     return {"greeting": f"hello {name}"}
    >>> JobClient(store).enqueue("hello", {"name": "Ada"})
    >>> asyncio.run(Worker(store, registry).run())
"""

from orbit.jobs.client import JobClient
from orbit.jobs.clock import Clock, ManualClock, SystemClock
from orbit.jobs.errors import (
    Cancelled,
    ConfigurationError,
    DuplicateIdempotencyKey,
    ErrorCode,
    Fail,
    IdempotencyKeyReused,
    InvalidTransition,
    JobNotFound,
    JobSignal,
    LeaseLost,
    OrbitError,
    Retry,
    UnknownJobType,
    WouldWait,
)
from orbit.jobs.idempotency import IdempotencyKey, fingerprint
from orbit.jobs.manager import JobManager
from orbit.jobs.models import Job, JobEvent, JobFilter, JobPage, JobSpec, Lease, Outcome
from orbit.jobs.retry import BackoffPolicy, RetryDecision
from orbit.jobs.states import ACTIVE, RETRYABLE, TERMINAL, TRANSITIONS, JobStatus
from orbit.jobs.store import SQLStore, first_row, migrate, open_store, parse_url, read_only
from orbit.jobs.store.feed import ChangeFeed, ChangeKind
from orbit.jobs.worker import (
    JobContext,
    JobDefinition,
    JobHandle,
    JobRegistry,
    SyncJobContext,
    Worker,
    WorkerConfig,
)

__all__ = [
    "ACTIVE",
    "RETRYABLE",
    "TERMINAL",
    "TRANSITIONS",
    "BackoffPolicy",
    "Cancelled",
    "ChangeFeed",
    "ChangeKind",
    "Clock",
    "ConfigurationError",
    "DuplicateIdempotencyKey",
    "ErrorCode",
    "Fail",
    "IdempotencyKey",
    "IdempotencyKeyReused",
    "InvalidTransition",
    "Job",
    "JobClient",
    "JobContext",
    "JobDefinition",
    "JobEvent",
    "JobFilter",
    "JobHandle",
    "JobManager",
    "JobNotFound",
    "JobPage",
    "JobRegistry",
    "JobSignal",
    "JobSpec",
    "JobStatus",
    "Lease",
    "LeaseLost",
    "ManualClock",
    "OrbitError",
    "Outcome",
    "Retry",
    "RetryDecision",
    "SQLStore",
    "SyncJobContext",
    "SystemClock",
    "UnknownJobType",
    "Worker",
    "WorkerConfig",
    "WouldWait",
    "fingerprint",
    "first_row",
    "migrate",
    "open_store",
    "parse_url",
    "read_only",
]
