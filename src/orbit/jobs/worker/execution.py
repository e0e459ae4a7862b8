"""One run of one handler: invoking it, interrupting it, and turning how it ended into an
``Outcome`` for the store.

Everything an outcome carries is checked here, before it is queued for the database: a
result the databases cannot store (not JSON, NaN, NUL characters) fails its own job with
the reason, and error texts lose what no database stores, so one job's outcome can never
make a batch of others fail. A handler that cannot even be started (its input does not
match its signature) fails the attempt at once with that error.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import datetime as dt
import functools
import inspect
import json
import logging
from collections.abc import Callable
from typing import Any

from orbit.jobs.errors import Cancelled, ErrorCode, Fail, LeaseLost, Retry
from orbit.jobs.models import Job, Outcome
from orbit.jobs.states import JobStatus
from orbit.jobs.storable import check_json_value, storable_text
from orbit.jobs.worker.context import JobContext, SyncJobContext
from orbit.jobs.worker.registry import JobDefinition

log = logging.getLogger("orbit.jobs.worker")

_S = JobStatus
_E = ErrorCode


@dataclasses.dataclass
class Execution:
    """A claimed job being run by this worker."""

    job: Job
    definition: JobDefinition
    context: JobContext | SyncJobContext
    task: asyncio.Future[Any] | None = None
    reason: str | None = None  # why it was interrupted: cancel, timeout, lost, shutdown
    finished: bool = False

    def interrupt(self, reason: str) -> None:
        """Ask the handler to stop; async handlers are cancelled at their next ``await``.

        Sync handlers run in a thread that cannot be stopped from outside: they see
        ``ctx.cancelled`` and stop cooperatively. On timeout, lease loss or shutdown the
        worker stops waiting for them; whatever they write later is fenced off.
        """
        if self.finished or self.reason is not None:
            return
        self.reason = reason
        self.context.request_cancel()
        if reason == "lost":
            self.context.lease_lost = True
        if self.task is not None and (self.definition.is_async or reason != "cancel"):
            self.task.cancel()


def start(execution: Execution, threads: concurrent.futures.Executor) -> asyncio.Future[Any]:
    """Start the handler: on the loop if async, in ``threads`` if sync."""
    job, definition = execution.job, execution.definition
    if definition.is_async:
        coro = definition.handler(execution.context, **job.input_data)
        task: asyncio.Future[Any] = asyncio.ensure_future(coro)
    else:
        call = functools.partial(definition.handler, execution.context, **job.input_data)
        task = asyncio.get_running_loop().run_in_executor(threads, call)
    execution.task = task
    return task


@functools.cache
def _signature(handler: Callable[..., Any]) -> inspect.Signature:
    return inspect.signature(handler)


def input_misfit(execution: Execution) -> Outcome | None:
    """A ``failed`` outcome when the job's input cannot be passed to its handler, else None.

    Asked only after a ``TypeError`` (the hot path binds nothing twice): an async
    handler's call raises it before its task exists, a sync one's in its thread, where it
    would pass for a handler error and be retried.
    """
    job = execution.job
    try:
        _signature(execution.definition.handler).bind(execution.context, **job.input_data)
    except TypeError as exc:
        error = f"input_data does not fit the {job.job_type} handler: {exc}"
        return Outcome(job.lease, _S.FAILED, error=error, error_code=_E.INVALID_INPUT)
    return None


def error_text(exc: BaseException) -> str:
    """How an exception reads in ``job.error``: its message, or its type when it has none."""
    return str(exc) or type(exc).__name__


def outcome_after_interrupt(execution: Execution, now: dt.datetime) -> Outcome | None:
    """The outcome of a handler that was interrupted (``None``: the lease is gone)."""
    lease, reason = execution.job.lease, execution.reason
    if reason == "lost":
        return None
    if reason == "shutdown":
        return Outcome(
            lease,
            _S.PENDING,
            error="worker stopped before the job finished",
            run_at=now,
            release=True,
            error_code=_E.WORKER_STOPPED,
        )
    if reason == "timeout":
        timeout = execution.job.timeout_seconds or execution.definition.timeout_seconds
        return failure(execution, f"timed out after {timeout:g}s", now, code=_E.TIMED_OUT)
    return Outcome(lease, _S.CANCELLED, error="cancelled", error_code=_E.CANCELLED)


def failure(
    execution: Execution,
    error: str,
    now: dt.datetime,
    after: float | None = None,
    code: str | None = None,
) -> Outcome:
    """A failed attempt: retried later when the policy allows, else ``failed``."""
    job, code = execution.job, code or _E.HANDLER_ERROR
    decision = execution.definition.backoff.decide(job.attempts, job.max_attempts, after)
    if decision.retry:
        run_at = now + dt.timedelta(seconds=decision.delay)
        return Outcome(job.lease, _S.PENDING, error=error, run_at=run_at, error_code=code)
    return Outcome(job.lease, _S.FAILED, error=error, error_code=code)


def completed(execution: Execution, result: Any, now: dt.datetime) -> Outcome | None:
    """A handler that returned: record its result (it must be JSON both databases store)."""
    if execution.reason == "lost":
        return None
    lease = execution.job.lease
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        error = f"handler returned a result that is not JSON: {exc}"
        return Outcome(lease, _S.FAILED, error=error, error_code=_E.INVALID_RESULT)
    try:
        check_json_value(result)
    except ValueError as exc:
        error = f"handler returned a result that cannot be stored: {exc}"
        return Outcome(lease, _S.FAILED, error=error, error_code=_E.INVALID_RESULT)
    return Outcome(lease, _S.COMPLETED, result=result)


def storable(outcome: Outcome | None) -> Outcome | None:
    """``outcome`` with an error text every database stores (no NUL characters)."""
    if outcome is None or outcome.error is None:
        return outcome
    error = storable_text(outcome.error)
    return outcome if error == outcome.error else dataclasses.replace(outcome, error=error)


def handed_back(execution: Execution, exc: Exception, now: dt.datetime) -> Outcome:
    """A handler stopped by the database going away did not fail: the job goes back to
    ``pending`` without using up an attempt, like a job a stopping worker hands back."""
    error = f"database unavailable: {error_text(exc)}"
    return Outcome(execution.job.lease, _S.PENDING, error=error, run_at=now, release=True)


def outcome_of_exception(execution: Execution, exc: Exception, now: dt.datetime) -> Outcome | None:
    """How a handler that raised ``exc`` ended: signals first, then plain errors."""
    lease = execution.job.lease
    if isinstance(exc, LeaseLost):
        return None
    if execution.reason:  # interrupted: whatever it raised on the way out, the reason rules
        return outcome_after_interrupt(execution, now)
    if isinstance(exc, Cancelled):
        return Outcome(lease, _S.CANCELLED, error="cancelled", error_code=_E.CANCELLED)
    if isinstance(exc, Retry):
        return failure(execution, exc.reason, now, after=exc.after, code=exc.code)
    if isinstance(exc, Fail):
        return Outcome(lease, _S.FAILED, error=exc.message, error_code=exc.code or _E.HANDLER_ERROR)
    return _raised(execution, exc, now)


def _raised(execution: Execution, exc: Exception, now: dt.datetime) -> Outcome:
    """A plain exception: bad input fails at once, anything else is a handler error."""
    misfit = input_misfit(execution) if isinstance(exc, TypeError) else None
    if misfit is not None:
        return misfit
    log.info("job %s (%s) raised %r", execution.job.id, execution.job.job_type, exc)
    return failure(execution, error_text(exc), now)


async def run(
    execution: Execution,
    threads: concurrent.futures.Executor,
    now: Callable[[], dt.datetime],
    unavailable: Callable[[BaseException], bool] = lambda exc: False,
) -> Outcome | None:
    """Run the handler to its end and say how it ended; ``now`` reads the clock,
    ``unavailable`` tells database outages from failures."""
    return storable(await _run(execution, threads, now, unavailable))


async def _run(
    execution: Execution,
    threads: concurrent.futures.Executor,
    now: Callable[[], dt.datetime],
    unavailable: Callable[[BaseException], bool],
) -> Outcome | None:
    try:
        task = start(execution, threads)
    except Exception as exc:  # nothing ran: no reason to wait for the lease to expire
        execution.finished = True
        misfit = input_misfit(execution) if isinstance(exc, TypeError) else None
        if misfit is not None:
            return misfit
        log.warning("job %s (%s): cannot start: %s", execution.job.id, execution.job.job_type, exc)
        return failure(execution, f"cannot start the handler: {error_text(exc)}", now())
    try:
        result = await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise  # the worker itself is being torn down
        return outcome_after_interrupt(execution, now())
    except Exception as exc:
        if unavailable(exc) and not execution.reason:
            return handed_back(execution, exc, now())
        return outcome_of_exception(execution, exc, now())
    finally:
        execution.finished = True
    return completed(execution, result, now())
