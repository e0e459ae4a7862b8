"""How the interview and backlog areas treat AI failures and vanished rows.

In a job handler (``ai_job_errors``), a transient failure (``AIUnavailable``: timeouts,
connection errors, 429, 5xx that outlasted the provider's own retries) asks the worker to
run the job again later; every other ``AIError`` fails the job at once with its text,
e.g. ``AI API call failed: connection timeout``. In a synchronous route
(``ai_http_errors``) they become 503 and 502 problems. A handler whose interview or
backlog item was deleted before it ran fails at once (``missing_as_failure``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from orbit.ai import AIError, AIUnavailable
from orbit.jobs import Fail, Retry
from orbit.jobs.http import Problem


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
def ai_http_errors() -> Iterator[None]:
    """Turn AI errors raised inside into problems: 503 when transient, else 502."""
    try:
        yield
    except AIUnavailable as exc:
        raise Problem(503, str(exc), slug="ai-unavailable", title="AI model unavailable") from exc
    except AIError as exc:
        raise Problem(502, str(exc), slug="ai-call-failed", title="AI call failed") from exc


@contextmanager
def missing_as_failure() -> Iterator[None]:
    """In a job handler: a row that is gone (a 404 problem) fails the job, no retry."""
    try:
        yield
    except Problem as exc:
        raise Fail(str(exc.detail)) from exc
