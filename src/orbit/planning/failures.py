"""One failure policy for every AI job of the app, and for rows that vanished.

Every AI job handler runs inside ``ai_failures(operation, services)`` (at registration), so
interview replies, backlog generation, activation, execution and commit messages treat
the AI's errors alike:

* an error that running again cannot fix fails the job at once (``Fail``): a rejected
  request (401, 403, 400…: ``AIAPIError.retryable`` is False), output that stayed
  invalid after the provider's repair (``AIInvalidOutput``), a bad configuration or
  prompt. The message names what was wrong, the operation and the model, e.g.
  ``AI returned invalid EpicDraft output … on qwen2.5 … (backlog_generation)`` (the model is
  named once: by the AI layer's message, or else in the parentheses);
* a transient one (timeouts, connection errors, 429, 5xx: ``retryable`` True) asks the
  worker to run the job again (``Retry``) after the server's ``Retry-After`` when it gave
  one, else after the job type's backoff; the job's ``max_attempts`` bounds it.

A handler whose interview, project or backlog item was deleted before it ran fails at once
too (``missing_as_failure``). In a synchronous route AI errors become 503 and 502
problems instead (``orbit.planning.problems``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from orbit.ai import AIAPIError, AIError
from orbit.jobs import Fail, Retry
from orbit.planning.errors import NotFound


class HasModel(Protocol):
    """What the policy needs to name the model: the configured provider's ``model``."""

    @property
    def model_name(self) -> str: ...


def retryable(exc: AIError) -> bool:
    """Whether running the job again later may succeed."""
    return isinstance(exc, AIAPIError) and exc.retryable


def decision(exc: AIError, operation: str, model: str) -> Retry | Fail:
    """The engine signal for ``exc`` met while doing ``operation`` with ``model``."""
    # The AI layer's own errors name the model they called (``exc.model``); say it once.
    named = getattr(exc, "model", None)
    message = f"{exc} ({operation})" if named else f"{exc} ({operation}, model {model})"
    if retryable(exc):
        # ``retry_after`` comes from the server's Retry-After (when it sent one).
        after = getattr(exc, "retry_after", None)
        return Retry(after=float(after) if after is not None else None, reason=message)
    return Fail(message)


@contextmanager
def ai_failures(operation: str, services: HasModel) -> Iterator[None]:
    """Turn AI errors raised inside into ``Retry`` (transient) or ``Fail`` (the rest)."""
    try:
        yield
    except AIError as exc:
        raise decision(exc, operation, services.model_name) from exc


@contextmanager
def missing_as_failure() -> Iterator[None]:
    """In a job handler: a row that is gone (``NotFound``) fails the job, no retry."""
    try:
        yield
    except NotFound as exc:
        raise Fail(str(exc)) from exc
