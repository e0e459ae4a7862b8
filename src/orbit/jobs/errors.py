"""The engine's exceptions.

Errors (something went wrong)::

    OrbitError
    ├── JobNotFound          no job with that id
    ├── InvalidTransition    the job's status forbids the operation (e.g. delete while running)
    ├── LeaseLost            the worker no longer holds the job; its write was rejected
    ├── UnknownJobType       no handler registered under that name
    ├── DuplicateIdempotencyKey  an enqueue's key is taken (JobClient returns that job)
    ├── IdempotencyKeyReused     the key is taken by a job of a different request
    └── ConfigurationError   bad URL, bad settings

Signals (a handler telling the worker what to do; not errors)::

    JobSignal
    ├── Retry(after=..., code=...)   run me again later, counts as an attempt
    ├── Cancelled                    I noticed the cancel request and stopped
    └── Fail(message, code=...)      fail now, do not retry

A job that ends (or is requeued) abnormally keeps a message in ``job.error`` and a
machine-readable code in ``job.error_code``: one of ``ErrorCode`` when the engine decided,
or the ``code`` a handler's ``Fail``/``Retry`` carried (short snake_case words, e.g.
``ai_rate_limited``).
"""

from __future__ import annotations

import enum
import re
import uuid

_CODE = re.compile(r"[a-z][a-z0-9_]{0,63}")


class ErrorCode(enum.StrEnum):
    """The codes the engine itself writes to ``job.error_code``."""

    HANDLER_ERROR = "handler_error"
    """The handler raised an exception, or a ``Fail``/``Retry`` without a code."""
    TIMED_OUT = "timed_out"
    """The attempt ran past the job's ``timeout_seconds``."""
    WORKER_LOST = "worker_lost"
    """The worker stopped heartbeating (crash, kill, lost host) and its lease expired."""
    WORKER_STOPPED = "worker_stopped"
    """The worker shut down before the job finished and handed it back (still pending)."""
    CANCELLED = "cancelled"
    """The job was cancelled (before it ran, or its handler stopped on request)."""
    INVALID_RESULT = "invalid_result"
    """The handler returned a result that is not JSON."""
    INVALID_INPUT = "invalid_input"
    """The job's ``input_data`` does not fit the handler's signature (no retry)."""


def checked_code(code: str | None) -> str | None:
    """``code`` if it is a valid error code (``[a-z][a-z0-9_]*``, at most 64 characters)."""
    if code is not None and not _CODE.fullmatch(code):
        raise ValueError(f"invalid error code {code!r}: use a snake_case word of ≤ 64 characters")
    return code


class OrbitError(Exception):
    """Root of every error raised by the job engine."""


class JobNotFound(OrbitError):
    """No job exists with the given id."""

    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(f"job {job_id} not found")
        self.job_id = job_id


class InvalidTransition(OrbitError):
    """The job's current status does not allow the requested operation."""

    def __init__(self, job_id: uuid.UUID, status: str, operation: str) -> None:
        super().__init__(f"cannot {operation} job {job_id}: it is {status}")
        self.job_id = job_id
        self.status = status
        self.operation = operation


class LeaseLost(OrbitError):
    """The lease token no longer matches: another worker owns the job, or it finished."""

    def __init__(self, job_id: uuid.UUID) -> None:
        super().__init__(f"lease on job {job_id} was lost; write rejected")
        self.job_id = job_id


class WouldWait(OrbitError):
    """A write asked not to wait (``wait=False``) would have had to: nothing was written.

    Only SQLite writes without waiting, when its write lock is free at once; a PostgreSQL
    write always waits for the network, so it always raises this when asked not to.
    """


class UnknownJobType(OrbitError):
    """No handler is registered for the job type."""

    def __init__(self, job_type: str) -> None:
        super().__init__(f"unknown job type {job_type!r}")
        self.job_type = job_type


class DuplicateIdempotencyKey(OrbitError):
    """A job with this ``idempotency_key`` exists already (raised by the store's insert)."""

    def __init__(self, key: str) -> None:
        super().__init__(f"a job with idempotency key {key!r} exists")
        self.key = key


class IdempotencyKeyReused(OrbitError):
    """The key was already used, by the same caller for the same job type, with a
    different request (``JobClient.enqueue``; HTTP answers 422)."""

    def __init__(self, key: str, job_id: uuid.UUID) -> None:
        super().__init__(f"idempotency key {key!r} was used for another request (job {job_id})")
        self.key = key
        self.job_id = job_id


class ConfigurationError(OrbitError):
    """The engine was configured with something it cannot use."""


class JobSignal(Exception):
    """Root of the control-flow signals a handler may raise."""


class Retry(JobSignal):
    """Ask the worker to run the job again after ``after`` seconds (uses an attempt).

    ``reason`` becomes ``job.error`` and ``code`` its ``error_code`` (default
    ``handler_error``), also when no attempt is left and the job fails.
    """

    def __init__(
        self,
        after: float | None = None,
        reason: str = "retry requested",
        *,
        code: str | None = None,
    ) -> None:
        super().__init__(reason)
        self.after = after
        self.reason = reason
        self.code = checked_code(code)


class Cancelled(JobSignal):
    """The handler saw the cancel request and stopped; the job ends ``cancelled``."""


class Fail(JobSignal):
    """Fail the job at once with ``message`` and ``code``; no further attempts.

    Example:
        >>> raise Fail("the API key was refused", code="ai_auth")
    """

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = checked_code(code)
