"""Exception hierarchy of the AI provider layer.

Every error raised by `orbit.ai` derives from `AIError`::

    AIError
    ├── AIConfigError          bad configuration or a missing SDK extra
    ├── AIPromptError          unknown prompt name or missing template variable
    ├── AIAPIError             "AI API call failed: ..." (network providers)
    │   ├── AIUnavailable      transient failure, retries exhausted (timeout,
    │   │   │                  connection error, HTTP 429, HTTP 5xx); may carry
    │   │   │                  ``retry_after`` (seconds the server asked us to wait)
    │   │   └── AITimeout      no complete reply within the call's deadline
    │   └── AIRequestRejected  the provider refused the request (other 4xx)
    │       └── AIModeRejected the server does not support the structured-output
    │                          mode that was asked for (400/422, or a 500 naming
    │                          ``response_format``)
    └── AIInvalidOutput        structured output failed validation after repair
        └── AIOutputTruncated  the reply hit its token budget even after one
                               retry with a larger one

`AIError.retryable` tells a job runner whether running the job again later may
help: true only for `AIUnavailable` (and its `AITimeout`).  Messages name the
operation (prompt name) and the model, e.g. ``AI API call failed: backlog.epic
on gpt-4.1-mini: HTTP 401 Unauthorized: bad key``.
"""

from __future__ import annotations


class AIError(Exception):
    """Root of every error raised by the AI provider layer."""

    retryable: bool = False


class AIConfigError(AIError):
    """The provider configuration is invalid, or its SDK is not installed."""


class AIPromptError(AIError):
    """A prompt could not be found or rendered."""


class AIAPIError(AIError):
    """A call to a model API failed; the message starts with ``AI API call failed:``."""

    def __init__(
        self,
        detail: str,
        *,
        provider: str,
        attempts: int = 1,
        status_code: int | None = None,
        prompt_name: str | None = None,
        model: str | None = None,
    ) -> None:
        self.detail = detail
        self.provider = provider
        self.attempts = attempts
        self.status_code = status_code
        self.prompt_name = prompt_name
        self.model = model
        where = " on ".join(part for part in (prompt_name, model) if part)
        prefix = f"{where}: " if where else ""
        super().__init__(f"AI API call failed: {prefix}{detail}")


class AIUnavailable(AIAPIError):
    """A transient failure (timeout, connection, 429, 5xx) persisted through all retries.

    ``retry_after`` is the wait (seconds, capped) the server asked for with
    ``Retry-After`` when that wait was too long to spend inside the call: the
    caller should run the job again after it rather than at once.
    """

    retryable = True

    retry_after: float | None = None


class AITimeout(AIUnavailable):
    """The model API gave no complete reply within the call's deadline."""


class AIRequestRejected(AIAPIError):
    """The model API rejected the request with a non-retryable 4xx status."""


class AIModeRejected(AIRequestRejected):
    """The server refused the structured-output mode (``response_format``) it was sent."""


class AIInvalidOutput(AIError):
    """The model's structured output did not validate, even after repair."""

    def __init__(
        self,
        *,
        prompt_name: str,
        schema_name: str,
        errors: list[str],
        raw_output: str,
        model: str | None = None,
    ) -> None:
        self.prompt_name = prompt_name
        self.schema_name = schema_name
        self.errors = errors
        self.raw_output = raw_output
        self.model = model
        last = errors[-1] if errors else "no output"
        on = f" on {model}" if model else ""
        super().__init__(
            f"AI returned invalid {schema_name} output for prompt {prompt_name!r}{on} "
            f"after {len(errors)} attempts: {last}"
        )


class AIOutputTruncated(AIInvalidOutput):
    """The reply was cut off at its token budget (``finish_reason: length``) twice."""
