"""The openai and anthropic providers, driven through the real SDKs against a fake server."""

from __future__ import annotations

import socket
import time

import pytest

from orbit.ai import (
    AIConfig,
    AIInvalidOutput,
    AIRequestRejected,
    AITimeout,
    AIUnavailable,
    CallRecord,
    EpicDraft,
    Message,
    Prompt,
    create_provider,
)
from tests.ai.conftest import ProviderFactory, sdk_config
from tests.ai.fake_llm_server import FakeLLMServer, Reply

PROMPT = Prompt(
    name="test.greeting",
    messages=(
        Message("system", "You are terse."),
        Message("user", "Say hello to Orbit."),
    ),
)

FAILED = "AI API call failed: test.greeting"

GOOD_EPIC = '{"title": "Recipe sharing", "description": "Share and plan meals."}'


async def test_complete_returns_text_model_tokens_and_latency(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(text="Hello, Orbit!", tokens_in=12, tokens_out=5))
    provider = make_provider()

    completion = await provider.complete(PROMPT)

    assert completion.text == "Hello, Orbit!"
    assert completion.model == provider.model
    assert (completion.tokens_in, completion.tokens_out) == (12, 5)
    assert completion.latency_ms >= 0
    [request] = llm_server.requests
    assert request.body["model"] == provider.model
    assert request.message_texts() == ["You are terse.", "Say hello to Orbit."]
    assert request.headers["x-stainless-retry-count"] == "0"
    [record] = records
    assert record.ok and record.error is None
    assert (record.provider, record.prompt_name, record.operation) == (
        provider.name,
        "test.greeting",
        "complete",
    )
    assert (record.tokens_in, record.tokens_out, record.attempts) == (12, 5, 1)
    assert record.latency_ms == completion.latency_ms


async def test_anthropic_sends_system_prompt_separately(
    llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    provider = create_provider(sdk_config("anthropic", llm_server.url, max_output_tokens=321))
    try:
        await provider.complete(PROMPT)
    finally:
        await provider.aclose()
    [request] = llm_server.requests
    assert request.path == "/v1/messages"
    assert request.body["system"] == "You are terse."
    assert request.body["messages"] == [{"role": "user", "content": "Say hello to Orbit."}]
    assert request.body["max_tokens"] == 321


async def test_stream_yields_deltas_then_usage(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(chunks=["Hel", "lo, ", "Orbit", "!"], tokens_in=9, tokens_out=4))
    provider = make_provider()

    async with provider.stream(PROMPT) as stream:
        deltas = [delta async for delta in stream]

    assert deltas == ["Hel", "lo, ", "Orbit", "!"]
    assert stream.completion is not None
    assert stream.completion.text == "Hello, Orbit!"
    assert (stream.completion.tokens_in, stream.completion.tokens_out) == (9, 4)
    [request] = llm_server.requests
    assert request.body["stream"] is True
    [record] = records
    assert record.ok and record.operation == "stream"
    assert (record.tokens_in, record.tokens_out) == (9, 4)


async def test_rate_limit_is_retried_then_succeeds(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply.error(429, "slow down"), Reply(text="made it"))
    provider = make_provider()

    completion = await provider.complete(PROMPT)

    assert completion.text == "made it"
    assert len(llm_server.requests) == 2
    [record] = records
    assert record.ok and record.attempts == 2


async def test_stream_open_is_retried_after_server_error(
    make_provider: ProviderFactory, llm_server: FakeLLMServer
) -> None:
    llm_server.push(Reply.error(503, "warming up"), Reply(chunks=["a", "b"]))
    provider = make_provider()

    completion = await provider.stream(PROMPT).collect()

    assert completion.text == "ab"
    assert len(llm_server.requests) == 2


async def test_permanent_server_error_gives_up_with_clear_message(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(*[Reply.error(500, "the GPU caught fire")] * 3)
    provider = make_provider(max_retries=2)

    with pytest.raises(AIUnavailable) as caught:
        await provider.complete(PROMPT)

    message = str(caught.value)
    assert message.startswith(f"{FAILED} on {provider.model}: HTTP 500 Internal Server Error")
    assert "the GPU caught fire" in message
    assert "3 attempts" in message
    assert caught.value.retryable and caught.value.status_code == 500
    assert len(llm_server.requests) == 3
    [record] = records
    assert not record.ok and record.attempts == 3
    assert record.error == message


@pytest.mark.parametrize("status", [400, 401, 404, 422])
async def test_client_errors_are_not_retried(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, status: int
) -> None:
    llm_server.push(Reply.error(status, "bad request body"), Reply(text="never sent"))
    provider = make_provider(max_retries=3)

    with pytest.raises(AIRequestRejected) as caught:
        await provider.complete(PROMPT)

    assert str(caught.value).startswith(f"{FAILED} on {provider.model}: HTTP {status}")
    assert "bad request body" in str(caught.value)
    assert not caught.value.retryable and caught.value.attempts == 1
    assert len(llm_server.requests) == 1


async def test_the_timeout_is_a_deadline_for_the_whole_call(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply.stall(10), Reply.stall(10))
    provider = make_provider(timeout_seconds=0.3, max_retries=3)

    started = time.monotonic()
    with pytest.raises(AITimeout) as caught:
        await provider.complete(PROMPT)
    elapsed = time.monotonic() - started

    assert str(caught.value).startswith(f"{FAILED} on {provider.model}: ")
    assert "0.3s" in str(caught.value)
    assert isinstance(caught.value, AIUnavailable) and caught.value.retryable
    assert elapsed >= 0.3
    assert len(llm_server.requests) == 1  # a retry would start after the deadline
    [record] = records
    assert not record.ok


async def test_a_slow_stream_is_cut_at_the_deadline_even_while_chunks_arrive(
    make_provider: ProviderFactory, llm_server: FakeLLMServer
) -> None:
    llm_server.push(Reply(chunks=["a"] * 40, chunk_delay=0.05))
    provider = make_provider(timeout_seconds=0.5)
    received: list[str] = []

    with pytest.raises(AITimeout, match=r"0\.5s"):
        async with provider.stream(PROMPT) as stream:
            async for delta in stream:
                received.append(delta)

    assert 0 < len(received) < 40  # every read was quick; the whole stream was not


async def test_stall_in_the_middle_of_a_stream_raises_timeout_without_retry(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(chunks=["first", "never"], stall_after_chunks=1))
    provider = make_provider(timeout_seconds=0.3, max_retries=2)
    received: list[str] = []

    with pytest.raises(AITimeout, match=r"0\.3s"):
        async with provider.stream(PROMPT) as stream:
            async for delta in stream:
                received.append(delta)

    assert received == ["first"]
    assert len(llm_server.requests) == 1
    [record] = records
    assert not record.ok and record.operation == "stream"


async def test_unreachable_server_is_a_connection_error() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = sdk_config("openai", f"http://127.0.0.1:{port}", max_retries=1)
    provider = create_provider(config)
    try:
        with pytest.raises(AIUnavailable) as caught:
            await provider.complete(PROMPT)
    finally:
        await provider.aclose()
    assert str(caught.value).startswith(f"{FAILED} on {provider.model}: connection error")
    assert caught.value.attempts == 2


async def test_structured_feeds_validation_error_back_once(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(text='{"title": "Recipe sharing"}'), Reply(text=GOOD_EPIC))
    provider = make_provider()

    epic = await provider.structured(PROMPT, EpicDraft)

    assert epic == EpicDraft(title="Recipe sharing", description="Share and plan meals.")
    first, second = llm_server.requests
    assert "Use exactly these fields" in first.message_texts()[-1]
    assert '"description": "<text, at most 600 characters>"' in first.message_texts()[-1]
    repair = second.message_texts()
    assert repair[-2] == '{"title": "Recipe sharing"}'  # the model's own bad answer
    assert "description: Field required" in repair[-1]
    assert [r.operation for r in records] == ["structured", "structured"]
    assert all(r.ok for r in records)


async def test_openai_structured_asks_for_json_schema_with_a_strict_schema(
    llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(text=f"Sure! Here it is:\n```json\n{GOOD_EPIC}\n```"))
    provider = create_provider(sdk_config("openai", llm_server.url), recorder=records.append)
    try:
        epic = await provider.structured(PROMPT, EpicDraft)
    finally:
        await provider.aclose()
    assert epic.title == "Recipe sharing"
    [request] = llm_server.requests
    response_format = request.body["response_format"]
    assert response_format["type"] == "json_schema"
    schema = response_format["json_schema"]["schema"]
    assert response_format["json_schema"]["name"] == "EpicDraft"
    assert schema["required"] == ["title", "description"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["title"] == {"type": "string", "minLength": 1, "maxLength": 80}
    assert request.body["temperature"] == 0.2
    assert request.body["max_tokens"] == PROMPT.max_tokens
    assert [r.mode for r in records] == ["json_schema"]


async def test_structured_gives_up_after_second_invalid_answer(
    make_provider: ProviderFactory, llm_server: FakeLLMServer
) -> None:
    llm_server.push(Reply(text="I am not JSON"), Reply(text='{"title": ""}'))
    provider = make_provider()

    with pytest.raises(AIInvalidOutput) as caught:
        await provider.structured(PROMPT, EpicDraft)

    assert len(llm_server.requests) == 2
    assert "could not be used as a EpicDraft" in llm_server.requests[1].message_texts()[-1]
    error = caught.value
    assert error.prompt_name == "test.greeting" and error.schema_name == "EpicDraft"
    assert len(error.errors) == 2
    assert "title" in error.errors[1]
    assert error.raw_output == '{"title": ""}'


async def test_recorder_failure_does_not_break_the_call(llm_server: FakeLLMServer) -> None:
    def broken_recorder(record: CallRecord) -> None:
        raise RuntimeError("database is down")

    llm_server.push(Reply(text="still fine"))
    provider = create_provider(sdk_config("openai", llm_server.url), recorder=broken_recorder)
    try:
        completion = await provider.complete(PROMPT)
    finally:
        await provider.aclose()
    assert completion.text == "still fine"


async def test_with_recorder_reports_to_the_new_recorder_only(
    llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    provider = create_provider(sdk_config("openai", llm_server.url), recorder=records.append)
    job_records: list[CallRecord] = []
    try:
        await provider.with_recorder(job_records.append).complete(PROMPT)
    finally:
        await provider.aclose()
    assert records == []
    assert [r.prompt_name for r in job_records] == ["test.greeting"]


def test_openai_without_key_or_base_url_is_a_config_error() -> None:
    from orbit.ai import AIConfigError

    with pytest.raises(AIConfigError, match="API key"):
        create_provider(AIConfig(provider="openai"))
