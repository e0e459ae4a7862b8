"""Exception hierarchy of the AI provider layer.

Every error raised by `orbit.ai` derives from `AIError`::

    AIError
    ├── AIConfigError          bad configuration or a missing SDK extra
    ├── AIPromptError          unknown prompt name or missing template variable
    ├── AIAPIError             "AI API call failed: ..." (network providers)
    │   ├── AIUnavailable      transient failure, retries exhausted (timeout,
    │   │   │                  connection error, HTTP 429, HTTP 5xx)
    │   │   └── AITimeout      the provider did not answer within the timeout
    │   └── AIRequestRejected  the provider refused the request (other 4xx)
    └── AIInvalidOutput        structured output failed validation twice

`AIAPIError.retryable` tells a job runner whether running the job again later
may help (`AIUnavailable`) or not (`AIRequestRejected`).
"""

from __future__ import annotations


class AIError(Exception):
    """Root of every error raised by the AI provider layer."""


class AIConfigError(AIError):
    """The provider configuration is invalid, or its SDK is not installed."""


class AIPromptError(AIError):
    """A prompt could not be found or rendered."""


class AIAPIError(AIError):
    """A call to a model API failed; the message starts with ``AI API call failed:``."""

    retryable: bool = False

    def __init__(
        self,
        detail: str,
        *,
        provider: str,
        attempts: int = 1,
        status_code: int | None = None,
    ) -> None:
        self.detail = detail
        self.provider = provider
        self.attempts = attempts
        self.status_code = status_code
        super().__init__(f"AI API call failed: {detail}")


class AIUnavailable(AIAPIError):
    """A transient failure (timeout, connection, 429, 5xx) persisted through all retries."""

    retryable = True


class AITimeout(AIUnavailable):
    """The model API did not answer within the configured timeout."""


class AIRequestRejected(AIAPIError):
    """The model API rejected the request with a non-retryable 4xx status."""


class AIInvalidOutput(AIError):
    """The model's structured output did not validate, even after one repair attempt."""

    def __init__(
        self,
        *,
        prompt_name: str,
        schema_name: str,
        errors: list[str],
        raw_output: str,
    ) -> None:
        self.prompt_name = prompt_name
        self.schema_name = schema_name
        self.errors = errors
        self.raw_output = raw_output
        last = errors[-1] if errors else "no output"
        super().__init__(
            f"AI returned invalid {schema_name} output for prompt {prompt_name!r} "
            f"after {len(errors)} attempts: {last}"
        )
