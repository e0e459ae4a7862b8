"""Build a provider from an `AIConfig`.

Nothing is constructed at import time; the network providers import their SDK
only here, so a missing extra surfaces as a clear `AIConfigError`.
"""

from __future__ import annotations

from orbit.ai.base import CallOptions, CallRecorder, Provider
from orbit.ai.config import AIConfig
from orbit.ai.errors import AIConfigError
from orbit.ai.offline import OfflineProvider
from orbit.ai.retry import RetryPolicy


def create_provider(config: AIConfig, *, recorder: CallRecorder | None = None) -> Provider:
    """The provider named by ``config.provider``, reporting calls to ``recorder``."""
    model = config.resolved_model
    if config.provider == "offline":
        return OfflineProvider(model=model, delay_ms=config.offline_delay_ms, recorder=recorder)
    options = CallOptions(
        max_output_tokens=config.max_output_tokens,
        temperature=config.temperature,
        structured_temperature=config.structured_temperature,
        structured=config.structured,
        retry_after_max_seconds=config.retry_after_max_seconds,
    )
    policy = RetryPolicy(
        max_retries=config.max_retries,
        backoff_seconds=config.retry_backoff_seconds,
        backoff_max_seconds=config.retry_backoff_max_seconds,
    )
    if config.provider == "openai":
        from orbit.ai.openai_compat import OpenAICompatProvider

        return OpenAICompatProvider(
            model=model,
            base_url=config.base_url,
            api_key=config.api_key,
            timeout_seconds=config.timeout_seconds,
            retry_policy=policy,
            recorder=recorder,
            options=options,
        )
    if config.provider == "anthropic":
        from orbit.ai.anthropic import AnthropicProvider

        return AnthropicProvider(
            model=model,
            base_url=config.base_url,
            api_key=config.api_key,
            timeout_seconds=config.timeout_seconds,
            retry_policy=policy,
            recorder=recorder,
            options=options,
        )
    raise AIConfigError(f"unknown AI provider {config.provider!r}")  # pragma: no cover
