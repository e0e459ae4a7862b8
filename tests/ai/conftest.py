"""Fixtures for the AI provider tests: a fake LLM HTTP server and provider builders."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from orbit.ai import AIConfig, BaseProvider, CallRecord, create_provider
from tests.ai.fake_llm_server import FakeLLMServer

SDK_PROVIDERS = ("openai", "anthropic")


@pytest.fixture(scope="session")
def _llm_server() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def llm_server(_llm_server: FakeLLMServer) -> Iterator[FakeLLMServer]:
    """The shared fake server, with an empty script and request log."""
    _llm_server.reset()
    yield _llm_server
    _llm_server.reset()


@pytest.fixture
def records() -> list[CallRecord]:
    return []


def sdk_config(provider: str, base_url: str, **overrides: Any) -> AIConfig:
    """A config for ``provider`` against the fake server, with tiny timeouts and backoff."""
    url = f"{base_url}/v1" if provider == "openai" else base_url
    settings: dict[str, Any] = {
        "provider": provider,
        "model": f"fake-{provider}-model",
        "base_url": url,
        "api_key": "test-key",
        "timeout_seconds": 5.0,
        "max_retries": 2,
        "retry_backoff_seconds": 0.01,
        "retry_backoff_max_seconds": 0.05,
    }
    return AIConfig(**{**settings, **overrides})


ProviderFactory = Callable[..., BaseProvider]


@pytest.fixture(params=SDK_PROVIDERS)
async def make_provider(
    request: pytest.FixtureRequest, llm_server: FakeLLMServer, records: list[CallRecord]
) -> AsyncIterator[ProviderFactory]:
    """Builds the parametrised SDK provider against the fake server (closed afterwards)."""
    built: list[BaseProvider] = []

    def factory(**overrides: Any) -> BaseProvider:
        provider = create_provider(
            sdk_config(request.param, llm_server.url, **overrides), recorder=records.append
        )
        assert isinstance(provider, BaseProvider)
        built.append(provider)
        return provider

    yield factory
    for provider in built:
        await provider.aclose()
