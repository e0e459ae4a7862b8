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

Either way the job's ``error_code`` says which kind of error it was (``code_of``):
``ai_invalid_output``, ``ai_output_truncated``, ``ai_auth`` (401/403), ``ai_bad_request``
(other 4xx, a refused output mode), ``ai_rate_limited`` (429), ``ai_unavailable`` (5xx,
connection), ``ai_timeout``, ``ai_config``, ``ai_prompt``, else ``ai_error``.

A handler whose interview, project or backlog item was deleted before it ran fails at once
too (``missing_as_failure``, code ``not_found``). In a synchronous route AI errors become
503 and 502 problems instead (``orbit.planning.problems``).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from orbit.ai import (
    AIAPIError,
    AIConfigError,
    AIError,
    AIInvalidOutput,
    AIOutputTruncated,
    AIPromptError,
    AITimeout,
    AIUnavailable,
)
from orbit.jobs import Fail, Retry
from orbit.planning.errors import NotFound


class HasModel(Protocol):
    """What the policy needs to name the model: the configured provider's ``model``."""

    @property
    def model_name(self) -> str: ...


def retryable(exc: AIError) -> bool:
    """Whether running the job again later may succeed."""
    return isinstance(exc, AIAPIError) and exc.retryable


_AUTH_STATUSES = (401, 403)
_CODES: tuple[tuple[type[AIError], str], ...] = (  # most specific first
    (AIOutputTruncated, "ai_output_truncated"),
    (AIInvalidOutput, "ai_invalid_output"),
    (AITimeout, "ai_timeout"),
    (AIConfigError, "ai_config"),
    (AIPromptError, "ai_prompt"),
)


def code_of(exc: AIError) -> str:
    """The job's ``error_code`` for ``exc``."""
    for kind, code in _CODES:
        if isinstance(exc, kind):
            return code
    if isinstance(exc, AIAPIError):
        status = exc.status_code
        if isinstance(exc, AIUnavailable):
            return "ai_rate_limited" if status == 429 else "ai_unavailable"
        return "ai_auth" if status in _AUTH_STATUSES else "ai_bad_request"
    return "ai_error"


def decision(exc: AIError, operation: str, model: str) -> Retry | Fail:
    """The engine signal for ``exc`` met while doing ``operation`` with ``model``."""
    # The AI layer's own errors name the model they called (``exc.model``); say it once.
    named = getattr(exc, "model", None)
    message = f"{exc} ({operation})" if named else f"{exc} ({operation}, model {model})"
    if retryable(exc):
        # ``retry_after`` comes from the server's Retry-After (when it sent one).
        after = getattr(exc, "retry_after", None)
        delay = float(after) if after is not None else None
        return Retry(after=delay, reason=message, code=code_of(exc))
    return Fail(message, code=code_of(exc))


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
        raise Fail(str(exc), code="not_found") from exc
