"""Configuration of an AI provider (`AIConfig`).

The application's settings read the ``ORBIT_AI_*`` environment variables and
build an `AIConfig`; this module never reads the environment itself.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

ProviderName = Literal["offline", "openai", "anthropic"]

StructuredSetting = Literal["auto", "json_schema", "json_object", "prompt"]
"""How structured output is asked for (``ORBIT_AI_STRUCTURED``); see `orbit.ai.modes`."""

DEFAULT_MODELS: dict[str, str] = {
    "offline": "orbit-offline-1",
    "openai": "gpt-4.1-mini",
    "anthropic": "claude-sonnet-4-6",
}


class AIConfig(BaseModel):
    """Everything needed to build a provider with `orbit.ai.create_provider`.

    ``model`` defaults to a sensible model per provider.  ``base_url`` points the
    ``openai`` provider at any OpenAI-compatible server (vLLM, Ollama, llama.cpp).
    ``timeout_seconds`` is the deadline of one whole call (every attempt, backoff,
    length retry and repair round of a `structured` call; the whole of a stream).
    ``max_retries`` counts retries after the first attempt, spaced by an
    exponential backoff starting at ``retry_backoff_seconds``; a ``Retry-After``
    longer than ``retry_backoff_max_seconds`` is not waited out inside the call but
    reported as `AIUnavailable.retry_after` (capped at ``retry_after_max_seconds``).
    ``structured`` picks the structured-output mode (``auto`` finds the strongest
    one the server accepts).  ``max_output_tokens`` caps every call's budget (each
    prompt declares its own ``max_tokens``); ``temperature`` applies to text calls
    and ``structured_temperature`` to structured ones.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    provider: ProviderName = "offline"
    model: str | None = None
    base_url: str | None = None
    api_key: str | None = Field(default=None, repr=False)
    timeout_seconds: float = Field(default=60.0, gt=0)
    max_retries: int = Field(default=2, ge=0)
    offline_delay_ms: int = Field(default=0, ge=0)
    retry_backoff_seconds: float = Field(default=0.5, ge=0)
    retry_backoff_max_seconds: float = Field(default=8.0, ge=0)
    max_output_tokens: int = Field(default=4096, gt=0)
    retry_after_max_seconds: float = Field(default=120.0, ge=0)
    structured: StructuredSetting = "auto"
    temperature: float = Field(default=0.7, ge=0, le=2)
    structured_temperature: float = Field(default=0.2, ge=0, le=2)

    @property
    def resolved_model(self) -> str:
        """The configured model, or the provider's default model."""
        return self.model or DEFAULT_MODELS[self.provider]
