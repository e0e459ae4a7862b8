"""Retry policy shared by the network providers.

The SDK clients are built with ``max_retries=0``; retrying happens here so the
rules are the same for every provider and the backoff is configurable (tiny in
tests).  Retried: timeouts, connection errors, HTTP 429 and HTTP 5xx.  Never
retried: any other 4xx, and a refused structured-output mode (``kind="mode"``).
Providers translate their SDK's exceptions into a neutral `Failure`
(`classify_sdk_error`), and `call_with_retries` turns the last one into an
`AIError` whose message names the `CallSite` (operation and model).

``Retry-After`` is honoured: a wait up to ``backoff_max_seconds`` is slept here;
a longer one (or one that would pass the call's deadline) ends the call at once
with `AIUnavailable.retry_after` set (capped), so the job runner reschedules the
job instead of spinning.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from http import HTTPStatus
from types import ModuleType
from typing import Literal, TypeVar

from orbit.ai.errors import (
    AIAPIError,
    AIModeRejected,
    AIRequestRejected,
    AITimeout,
    AIUnavailable,
)

log = logging.getLogger(__name__)

T = TypeVar("T")

FailureKind = Literal["timeout", "connection", "status", "api", "mode"]


@dataclass(frozen=True, slots=True)
class Failure:
    """A provider-neutral description of one failed API attempt."""

    kind: FailureKind
    message: str = ""
    status_code: int | None = None
    retry_after: float | None = None

    @property
    def retryable(self) -> bool:
        if self.kind == "mode":
            return False
        if self.kind != "status":
            return True
        code = self.status_code or 0
        return code == 429 or code >= 500

    def describe(self, timeout_seconds: float) -> str:
        """Human-readable cause, e.g. ``HTTP 500 Internal Server Error: boom``."""
        if self.kind == "timeout":
            return f"connection timeout: no response within {timeout_seconds:g}s"
        if self.kind == "connection":
            return f"connection error: {self.message or 'could not reach the server'}"
        if self.kind == "api":
            return f"API error: {self.message or 'unknown error'}"
        if self.kind == "mode":
            status = _describe_status(self.status_code or 0, self.message)
            return f"the server rejected the structured-output mode: {status}"
        return _describe_status(self.status_code or 0, self.message)


def _describe_status(code: int, message: str) -> str:
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = ""
    text = f"HTTP {code} {phrase}".rstrip()
    return f"{text}: {message}" if message else text


Classifier = Callable[[BaseException], "Failure | None"]
"""Maps an exception raised by an SDK to a `Failure`; ``None`` means "not an API failure"."""


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often and how patiently to retry a failed API call."""

    max_retries: int = 2
    backoff_seconds: float = 0.5
    backoff_max_seconds: float = 8.0

    def delay(self, retry_number: int, retry_after: float | None = None) -> float:
        """Seconds to wait before retry ``retry_number`` (0-based), with 25 % jitter.

        A server's ``retry_after`` is taken as given; `call_with_retries` decides
        whether it is short enough to wait out.
        """
        if retry_after is not None and retry_after >= 0:
            return retry_after
        base = min(self.backoff_seconds * 2.0**retry_number, self.backoff_max_seconds)
        return base * random.uniform(0.75, 1.0)


@dataclass(frozen=True, slots=True)
class CallSite:
    """Who is calling what: named in every error message."""

    provider: str
    model: str
    prompt_name: str | None = None
    timeout_seconds: float = 60.0
    retry_after_max_seconds: float = 120.0


def to_error(failure: Failure, site: CallSite, attempts: int) -> AIAPIError:
    """Build the `AIError` reported to callers for the final ``failure``."""
    detail = failure.describe(site.timeout_seconds)
    if attempts > 1:
        detail = f"{detail} (after {attempts} attempts)"
    error_type: type[AIAPIError]
    if failure.kind == "timeout":
        error_type = AITimeout
    elif failure.kind == "mode":
        error_type = AIModeRejected
    elif failure.retryable:
        error_type = AIUnavailable
    else:
        error_type = AIRequestRejected
    error = error_type(
        detail,
        provider=site.provider,
        attempts=attempts,
        status_code=failure.status_code,
        prompt_name=site.prompt_name,
        model=site.model,
    )
    if isinstance(error, AIUnavailable) and failure.retry_after is not None:
        error.retry_after = min(failure.retry_after, site.retry_after_max_seconds)
    return error


async def call_with_retries(
    operation: Callable[[], Awaitable[T]],
    *,
    classify: Classifier,
    policy: RetryPolicy,
    site: CallSite,
    deadline: float | None = None,
) -> tuple[T, int]:
    """Run ``operation`` until it succeeds; return its result and the attempt count.

    ``deadline`` (event-loop time) is when the whole call must be over: a wait
    that would pass it ends the call with the last failure instead.  Exceptions
    that ``classify`` does not recognise propagate unchanged.
    """
    attempt = 0
    while True:
        attempt += 1
        try:
            return await operation(), attempt
        except Exception as exc:
            failure = classify(exc)
            if failure is None:
                raise
            wait = _wait_before_retry(failure, attempt, policy, deadline)
            if wait is None:
                raise to_error(failure, site, attempt) from exc
            log.info(
                "%s call %s failed (%s); retry %d/%d in %.2fs",
                site.provider,
                site.prompt_name or "",
                failure.describe(site.timeout_seconds),
                attempt,
                policy.max_retries,
                wait,
            )
            await asyncio.sleep(wait)


def _wait_before_retry(
    failure: Failure, attempt: int, policy: RetryPolicy, deadline: float | None
) -> float | None:
    """Seconds to wait before the next attempt, or ``None`` to give up now."""
    if not failure.retryable or attempt > policy.max_retries:
        return None
    if failure.retry_after is not None and failure.retry_after > policy.backoff_max_seconds:
        return None  # too long to hold the call open: the caller reschedules the job
    wait = policy.delay(attempt - 1, failure.retry_after)
    if deadline is not None and asyncio.get_running_loop().time() + wait >= deadline:
        return None
    return wait


def classify_sdk_error(exc: BaseException, sdk: ModuleType) -> Failure | None:
    """Classify an exception of the ``openai`` or ``anthropic`` SDK (same class names)."""
    if isinstance(exc, sdk.APITimeoutError):
        return Failure("timeout")
    if isinstance(exc, sdk.APIConnectionError):
        return Failure("connection", _cause_text(exc))
    if isinstance(exc, sdk.APIStatusError):
        message = api_message(exc.body, exc.message)
        if exc.status_code < 400:  # an error event inside a successful stream
            return Failure("api", message)
        retry_after = parse_retry_after(exc.response.headers)
        return Failure("status", message, exc.status_code, retry_after)
    if isinstance(exc, sdk.APIError):
        return Failure("api", api_message(exc.body, exc.message))
    return classify_transport(exc)


def classify_transport(exc: BaseException) -> Failure | None:
    """Classify a raw transport error (the SDKs do not wrap every error mid-stream)."""
    if isinstance(exc, TimeoutError):
        return Failure("timeout")
    try:
        import httpx2  # installed with either SDK extra
    except ImportError:  # pragma: no cover - the SDK extras depend on httpx2
        return None
    if isinstance(exc, httpx2.TimeoutException):
        return Failure("timeout")
    if isinstance(exc, httpx2.TransportError):
        return Failure("connection", _cause_text(exc))
    return None


def api_message(body: object, fallback: str = "", limit: int = 300) -> str:
    """The human message in an error body (OpenAI, Anthropic and Ollama shapes)."""
    message: object = body
    if isinstance(body, Mapping):
        inner = body.get("error", body)
        message = inner.get("message") if isinstance(inner, Mapping) else inner
        if message is None and "detail" in body:  # FastAPI servers: {"detail": ...}
            message = str(body["detail"])
    text = message if isinstance(message, str) and message.strip() else fallback
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from ``retry-after-ms`` / ``retry-after`` (numeric forms only)."""
    for header, divisor in (("retry-after-ms", 1000.0), ("retry-after", 1.0)):
        value = headers.get(header)
        if value is None:
            continue
        try:
            seconds = float(value) / divisor
        except ValueError:
            continue
        if math.isfinite(seconds) and seconds >= 0:
            return seconds
    return None


def _cause_text(exc: BaseException) -> str:
    cause: BaseException = exc
    while cause.__cause__ is not None:
        cause = cause.__cause__
    text = str(cause) or type(cause).__name__
    return f"{type(cause).__name__}: {text}" if cause is not exc else text
