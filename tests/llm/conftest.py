"""The real model server for tests/llm: built once per machine, started once per session.

Every test here is marked ``llm`` and gets a generous timeout: the first run on a
machine builds llama.cpp's server from source (minutes), and a small model on
two CPU cores answers in seconds, not milliseconds.  Nothing is skipped: if the
server cannot be built or started, the tests fail with its log.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from orbit.ai import AIConfig, BaseProvider, CallRecord, create_provider
from tests.llm.llama_server import MODEL_ALIAS, LlamaServer, ensure_python, model_path

LLM_TIMEOUT = 1200


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/llm/" in item.nodeid.replace("\\", "/"):
            item.add_marker(pytest.mark.llm)
            item.add_marker(pytest.mark.timeout(LLM_TIMEOUT))


@pytest.fixture(scope="session")
def llama() -> Iterator[LlamaServer]:
    """llama.cpp's OpenAI-compatible server with SmolLM2-135M-Instruct on 127.0.0.1."""
    python = ensure_python()
    server = LlamaServer(python, model_path(python))
    server.start()
    yield server
    server.stop()


def real_config(llama: LlamaServer, **overrides: Any) -> AIConfig:
    """An ``openai`` provider config against the real server."""
    values: dict[str, Any] = {
        "provider": "openai",
        "model": MODEL_ALIAS,
        "base_url": llama.url,
        "timeout_seconds": 120.0,
        "max_retries": 1,
        **overrides,
    }
    return AIConfig(**values)


@pytest.fixture
def records() -> list[CallRecord]:
    return []


@pytest.fixture
async def real_provider(
    llama: LlamaServer, records: list[CallRecord]
) -> AsyncIterator[BaseProvider]:
    provider = create_provider(real_config(llama), recorder=records.append)
    assert isinstance(provider, BaseProvider)
    yield provider
    await provider.aclose()
