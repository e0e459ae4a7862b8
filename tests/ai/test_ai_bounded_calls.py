"""Structured modes, budgets, Retry-After, repair and usage, against the fake server's faults."""

from __future__ import annotations

import json
import logging

import pytest

from orbit.ai import (
    AIModeRejected,
    AIOutputTruncated,
    AIUnavailable,
    CallRecord,
    EpicDraft,
    Message,
    Prompt,
    StoriesDraft,
    create_provider,
)
from tests.ai.conftest import ProviderFactory, sdk_config
from tests.ai.fake_llm_server import FakeLLMServer, Reply

PROMPT = Prompt(
    name="backlog.epic",
    messages=(Message("system", "You write epics."), Message("user", "An app for recipes.")),
    max_tokens=100,
)
GOOD_EPIC = '{"title": "Recipe sharing", "description": "Share and plan meals."}'
MODE_REFUSAL = "'response_format.type' must be 'json_schema' or 'text'"


def _formats(server: FakeLLMServer) -> list[object]:
    return [r.body.get("response_format", {}).get("type") for r in server.requests]


async def test_auto_falls_back_from_a_rejected_json_schema_and_remembers_it(
    llm_server: FakeLLMServer, records: list[CallRecord], caplog: pytest.LogCaptureFixture
) -> None:
    llm_server.push(
        Reply.error(400, "response_format json_schema is not supported"),
        Reply(text=GOOD_EPIC),
        Reply(text=GOOD_EPIC),
    )
    provider = create_provider(sdk_config("openai", llm_server.url), recorder=records.append)
    try:
        with caplog.at_level(logging.INFO, logger="orbit.ai.modes"):
            await provider.structured(PROMPT, EpicDraft)
            await provider.with_recorder(None).structured(PROMPT, EpicDraft)
    finally:
        await provider.aclose()
    assert _formats(llm_server) == ["json_schema", "json_object", "json_object"]
    llama_form = llm_server.requests[1].body["response_format"]
    assert llama_form["schema"]["required"] == ["title", "description"]
    assert provider.structured_mode == "json_object"
    assert "falling back to json_object" in caplog.text
    assert "uses mode json_object" in caplog.text
    assert [r.ok for r in records] == [False, True]


async def test_a_500_naming_response_format_falls_back_without_retries(
    llm_server: FakeLLMServer,
) -> None:
    llm_server.push(
        Reply.error(500, "Unsupported response_format type json_schema"),
        Reply.error(500, "grammar: unsupported schema keyword"),
        Reply(text=GOOD_EPIC),
    )
    provider = create_provider(sdk_config("openai", llm_server.url, max_retries=3))
    try:
        epic = await provider.structured(PROMPT, EpicDraft)
    finally:
        await provider.aclose()
    assert epic.title == "Recipe sharing"
    assert _formats(llm_server) == ["json_schema", "json_object", None]  # None: prompt mode
    assert provider.structured_mode == "prompt"


async def test_a_400_about_something_else_is_not_a_mode_refusal(
    llm_server: FakeLLMServer,
) -> None:
    llm_server.push(Reply.error(400, "This model's maximum context length is 2048 tokens"))
    provider = create_provider(sdk_config("openai", llm_server.url))
    try:
        with pytest.raises(Exception) as caught:
            await provider.structured(PROMPT, EpicDraft)
    finally:
        await provider.aclose()
    assert not isinstance(caught.value, AIModeRejected)
    assert "backlog.epic on fake-openai-model: HTTP 400" in str(caught.value)
    assert provider.structured_mode == "json_schema"


async def test_a_pinned_mode_that_the_server_rejects_fails_clearly(
    llm_server: FakeLLMServer,
) -> None:
    llm_server.push(Reply.error(400, MODE_REFUSAL))
    provider = create_provider(sdk_config("openai", llm_server.url, structured="json_object"))
    try:
        with pytest.raises(AIModeRejected) as caught:
            await provider.structured(PROMPT, EpicDraft)
    finally:
        await provider.aclose()
    assert not caught.value.retryable
    assert "rejected the structured-output mode" in str(caught.value)
    assert len(llm_server.requests) == 1


async def test_prompt_mode_sends_no_response_format(llm_server: FakeLLMServer) -> None:
    llm_server.push(Reply(text=GOOD_EPIC))
    provider = create_provider(sdk_config("openai", llm_server.url, structured="prompt"))
    try:
        await provider.structured(PROMPT, EpicDraft)
    finally:
        await provider.aclose()
    [request] = llm_server.requests
    assert "response_format" not in request.body
    assert '"title": "<text, at most 80 characters>"' in request.message_texts()[-1]


async def test_anthropic_structured_output_is_a_forced_tool(
    llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(text=GOOD_EPIC))
    provider = create_provider(sdk_config("anthropic", llm_server.url), recorder=records.append)
    try:
        epic = await provider.structured(PROMPT, EpicDraft)
    finally:
        await provider.aclose()
    assert epic.description == "Share and plan meals."
    [request] = llm_server.requests
    assert request.body["tool_choice"] == {"type": "tool", "name": "EpicDraft"}
    [tool] = request.body["tools"]
    assert tool["input_schema"]["properties"]["title"]["maxLength"] == 80
    assert request.body["max_tokens"] == 100
    assert [r.mode for r in records] == ["tool_use"]


async def test_a_reply_cut_off_at_its_budget_is_retried_once_with_twice_the_budget(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(text='{"title": "Reci', finish_reason="length"), Reply(text=GOOD_EPIC))
    provider = make_provider()

    epic = await provider.structured(PROMPT, EpicDraft)

    assert epic.title == "Recipe sharing"
    assert [r.body["max_tokens"] for r in llm_server.requests] == [100, 200]
    assert [r.finish_reason for r in records] == [
        "length",
        "stop" if provider.name == "openai" else "end_turn",
    ]


async def test_a_reply_cut_off_twice_fails_clearly_without_a_repair_round(
    make_provider: ProviderFactory, llm_server: FakeLLMServer
) -> None:
    cut = Reply(text='{"title": "Reci', finish_reason="length")
    llm_server.push(cut, cut, Reply(text=GOOD_EPIC))
    provider = make_provider()

    with pytest.raises(AIOutputTruncated) as caught:
        await provider.structured(PROMPT, EpicDraft)

    assert len(llm_server.requests) == 2
    message = str(caught.value)
    assert "backlog.epic" in message and provider.model in message
    assert "cut off at its budget of 200 tokens" in message
    assert not caught.value.retryable


async def test_long_retry_after_ends_the_call_and_is_handed_to_the_job(
    make_provider: ProviderFactory, llm_server: FakeLLMServer
) -> None:
    llm_server.push(Reply.error(429, "slow down", **{"retry-after": "30"}), Reply(text="never"))
    provider = make_provider(max_retries=3)

    with pytest.raises(AIUnavailable) as caught:
        await provider.complete(PROMPT)

    assert caught.value.retry_after == 30.0 and caught.value.retryable
    assert len(llm_server.requests) == 1  # the job waits; the call does not spin


async def test_retry_after_is_capped(
    make_provider: ProviderFactory, llm_server: FakeLLMServer
) -> None:
    llm_server.push(Reply.error(503, "maintenance", **{"retry-after": "3600"}))
    provider = make_provider(retry_after_max_seconds=120)

    with pytest.raises(AIUnavailable) as caught:
        await provider.complete(PROMPT)

    assert caught.value.retry_after == 120.0


async def test_short_retry_after_is_waited_out_inside_the_call(
    make_provider: ProviderFactory, llm_server: FakeLLMServer
) -> None:
    llm_server.push(Reply.error(429, "slow down", **{"retry-after-ms": "20"}), Reply(text="ok"))
    provider = make_provider()

    completion = await provider.complete(PROMPT)

    assert completion.text == "ok" and len(llm_server.requests) == 2


@pytest.mark.parametrize(
    "reply",
    [
        '{"title": "Recipe sharing", "description": "Share\tand\nplan meals."}',  # raw controls
        '{"title": "Recipe sharing", "description": "Share and plan meals.",}',  # trailing comma
        "{'title': 'Recipe sharing', 'description': 'Share and plan meals.'",  # quotes, no brace
    ],
)
async def test_near_json_is_repaired_locally_without_a_repair_round(
    llm_server: FakeLLMServer, reply: str
) -> None:
    llm_server.push(Reply(text=reply))
    provider = create_provider(sdk_config("openai", llm_server.url))
    try:
        epic = await provider.structured(PROMPT, EpicDraft)
    finally:
        await provider.aclose()
    assert epic.title == "Recipe sharing"
    assert len(llm_server.requests) == 1


async def test_overlong_strings_and_lists_are_trimmed_to_the_schema(
    llm_server: FakeLLMServer,
) -> None:
    story = {"title": "word " * 30, "description": "As a cook I want recipes."}
    llm_server.push(Reply(text=json.dumps({"stories": [story] * 9})))
    provider = create_provider(sdk_config("openai", llm_server.url))
    try:
        drafts = await provider.structured(PROMPT, StoriesDraft)
    finally:
        await provider.aclose()
    assert len(drafts.stories) == 4
    assert all(len(s.title) <= 80 and s.title.endswith("word") for s in drafts.stories)
    assert len(llm_server.requests) == 1


async def test_a_stream_without_usage_records_estimated_tokens(
    llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(chunks=["Hello ", "there, ", "cook!"], stream_usage=False))
    provider = create_provider(sdk_config("openai", llm_server.url), recorder=records.append)
    try:
        completion = await provider.stream(PROMPT).collect()
    finally:
        await provider.aclose()
    assert completion.estimated
    assert completion.tokens_out == 5  # ceil(len("Hello there, cook!") / 4)
    assert completion.tokens_in > 0
    [record] = records
    assert record.estimated and record.ok
    assert (record.tokens_in, record.tokens_out) == (completion.tokens_in, 5)


async def test_reported_usage_is_not_marked_estimated(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(chunks=["a", "b"], tokens_in=9, tokens_out=2))
    provider = make_provider()

    completion = await provider.stream(PROMPT).collect()

    assert not completion.estimated and (completion.tokens_in, completion.tokens_out) == (9, 2)
    assert not records[0].estimated


async def test_every_request_carries_a_budget_and_a_temperature(
    llm_server: FakeLLMServer,
) -> None:
    provider = create_provider(
        sdk_config("openai", llm_server.url, temperature=0.9, max_output_tokens=64)
    )
    try:
        await provider.complete(PROMPT)
    finally:
        await provider.aclose()
    [request] = llm_server.requests
    assert request.body["temperature"] == 0.9
    assert request.body["max_tokens"] == 64  # the prompt's 100, capped by max_output_tokens


async def test_a_stream_cut_off_by_the_server_is_an_error_not_a_short_reply(
    make_provider: ProviderFactory, llm_server: FakeLLMServer, records: list[CallRecord]
) -> None:
    llm_server.push(Reply(chunks=["Who ", "will ", "use ", "it?"], cut_after_chunks=2))
    provider = make_provider()
    received: list[str] = []

    with pytest.raises(AIUnavailable, match="stream ended before the model finished"):
        async with provider.stream(PROMPT) as stream:
            async for delta in stream:
                received.append(delta)

    assert received == ["Who ", "will "]
    [record] = records
    assert not record.ok and record.estimated and record.tokens_out == 3  # ceil(9 / 4)
