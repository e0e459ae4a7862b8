"""How the interview and backlog areas treat AI failures and vanished rows.

In a job handler (``ai_job_errors``), a transient failure (``AIUnavailable``: timeouts,
connection errors, 429, 5xx that outlasted the provider's own retries) asks the worker to
run the job again later; every other ``AIError`` fails the job at once with its text,
e.g. ``AI API call failed: connection timeout``. (In a synchronous route they become
503 and 502 problems: ``orbit.planning.problems``.) A handler whose interview or backlog
item was deleted before it ran fails at once (``missing_as_failure``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orbit.ai import AIError, AIUnavailable
from orbit.jobs import Fail, Retry
from orbit.planning.errors import NotFound


@contextmanager
def ai_job_errors() -> Iterator[None]:
    """Turn AI errors raised inside into ``Retry`` (transient) or ``Fail`` (the rest)."""
    try:
        yield
    except AIUnavailable as exc:
        raise Retry(reason=str(exc)) from exc
    except AIError as exc:
        raise Fail(str(exc)) from exc


@contextmanager
def missing_as_failure() -> Iterator[None]:
    """In a job handler: a row that is gone (``NotFound``) fails the job, no retry."""
    try:
        yield
    except NotFound as exc:
        raise Fail(str(exc)) from exc
