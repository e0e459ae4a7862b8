"""Provider for OpenAI and OpenAI-compatible servers (vLLM, Ollama, llama.cpp, LM Studio).

Uses the official ``openai`` SDK (``AsyncOpenAI``) against ``base_url`` with the
Chat Completions API.  Every request sends ``max_tokens`` and ``temperature``;
structured calls send the ``response_format`` of their mode (see
`orbit.ai.modes`): ``json_schema`` (OpenAI structured outputs), then
``json_object`` with a ``schema`` (the llama.cpp form), then nothing.  The SDK
is imported when the provider is built, so ``import orbit.ai`` works without the
``openai`` extra.  The SDK's own retries
are disabled (``max_retries=0``); `orbit.ai.retry` handles them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any, ClassVar

from orbit.ai.base import (
    BaseProvider,
    CallOptions,
    CallRecorder,
    ChatRequest,
    ModelReply,
    StreamEnd,
    StreamPiece,
    Usage,
)
from orbit.ai.errors import AIConfigError
from orbit.ai.retry import Failure, RetryPolicy, classify_sdk_error

PLACEHOLDER_API_KEY = "orbit-no-key"
"""Sent when a local server (``base_url`` set) needs no key; the SDK requires one."""


def import_openai() -> ModuleType:
    """Import the ``openai`` SDK or explain how to install it."""
    try:
        import openai  # optional dependency, imported on demand
    except ImportError as exc:
        raise AIConfigError(
            "the 'openai' AI provider needs the openai SDK: pip install 'orbit[openai]'"
        ) from exc
    return openai


class OpenAICompatProvider(BaseProvider):
    """Chat Completions over the official SDK; works with any compatible server."""

    name: ClassVar[str] = "openai"

    def __init__(
        self,
        *,
        model: str,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout_seconds: float = 60.0,
        retry_policy: RetryPolicy | None = None,
        recorder: CallRecorder | None = None,
        options: CallOptions | None = None,
    ) -> None:
        super().__init__(
            model=model,
            timeout_seconds=timeout_seconds,
            retry_policy=retry_policy,
            recorder=recorder,
            options=options,
            label=f"openai:{model}@{base_url or 'api.openai.com'}",
        )
        if not api_key and base_url is None:
            raise AIConfigError(
                "the 'openai' AI provider needs an API key (ORBIT_AI_API_KEY), "
                "or a base_url pointing at a local OpenAI-compatible server"
            )
        self._sdk = import_openai()
        self._client: Any = self._sdk.AsyncOpenAI(
            api_key=api_key or PLACEHOLDER_API_KEY,
            base_url=base_url or "https://api.openai.com/v1",
            timeout=timeout_seconds,
            max_retries=0,
        )

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        params: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": m.role, "content": m.content} for m in request.messages],
            "max_tokens": request.max_tokens,
        }
        if request.temperature is not None:
            params["temperature"] = request.temperature
        response_format = _response_format(request)
        if response_format is not None:
            params["response_format"] = response_format
        return params

    async def _send(self, request: ChatRequest) -> ModelReply:
        response = await self._client.chat.completions.create(**self._params(request))
        choice = response.choices[0] if response.choices else None
        text = (choice.message.content or "") if choice is not None else ""
        finish = choice.finish_reason if choice is not None else None
        return ModelReply(text, self._usage(response.model, response.usage), finish)

    async def _open_stream(self, request: ChatRequest) -> AsyncIterator[StreamPiece]:
        stream = await self._client.chat.completions.create(
            **self._params(request), stream=True, stream_options={"include_usage": True}
        )
        return self._deltas(stream)

    async def _deltas(self, stream: Any) -> AsyncIterator[StreamPiece]:
        usage = Usage(self.model, reported=False)
        finish: str | None = None
        try:
            async for chunk in stream:
                if getattr(chunk, "usage", None) is not None:
                    usage = self._usage(chunk.model, chunk.usage)
                for choice in chunk.choices or ():
                    finish = choice.finish_reason or finish
                    if choice.delta is not None and choice.delta.content:
                        yield choice.delta.content
            yield StreamEnd(usage, finish)
        finally:
            await stream.close()

    def _usage(self, model: str | None, usage: Any) -> Usage:
        if usage is None:
            return Usage(model or self.model, reported=False)
        return Usage(
            model or self.model,
            usage.prompt_tokens or 0,
            usage.completion_tokens or 0,
        )

    def _classify(self, exc: BaseException) -> Failure | None:
        return classify_sdk_error(exc, self._sdk)

    async def aclose(self) -> None:
        await self._client.close()


def _response_format(request: ChatRequest) -> dict[str, Any] | None:
    """The ``response_format`` of a request's structured mode (``None``: send none)."""
    if request.mode == "json_schema":
        return {
            "type": "json_schema",
            "json_schema": {
                "name": request.schema_name or "output",
                "schema": dict(request.schema or {}),
                "strict": True,
            },
        }
    if request.mode == "json_object":
        # llama.cpp's form: a JSON Schema beside the type, compiled into a grammar.
        return {"type": "json_object", "schema": dict(request.schema or {})}
    return None
