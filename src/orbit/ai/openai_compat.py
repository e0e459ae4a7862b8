"""Provider for OpenAI and OpenAI-compatible servers (vLLM, Ollama, llama.cpp).

Uses the official ``openai`` SDK (``AsyncOpenAI``) against ``base_url`` with the
Chat Completions API.  The SDK is imported when the provider is built, so
``import orbit.ai`` works without the ``openai`` extra.  The SDK's own retries
are disabled (``max_retries=0``); `orbit.ai.retry` handles them.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from types import ModuleType
from typing import Any, ClassVar

from orbit.ai.base import BaseProvider, CallRecorder, ChatRequest, ModelReply, StreamPiece, Usage
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
        json_mode: bool = True,
    ) -> None:
        super().__init__(
            model=model,
            timeout_seconds=timeout_seconds,
            retry_policy=retry_policy,
            recorder=recorder,
        )
        if not api_key and base_url is None:
            raise AIConfigError(
                "the 'openai' AI provider needs an API key (ORBIT_AI_API_KEY), "
                "or a base_url pointing at a local OpenAI-compatible server"
            )
        self._sdk = import_openai()
        self._json_mode = json_mode
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
        }
        if request.json_mode and self._json_mode:
            params["response_format"] = {"type": "json_object"}
        return params

    async def _send(self, request: ChatRequest) -> ModelReply:
        response = await self._client.chat.completions.create(**self._params(request))
        text = (response.choices[0].message.content or "") if response.choices else ""
        return ModelReply(text, self._usage(response.model, response.usage))

    async def _open_stream(self, request: ChatRequest) -> AsyncIterator[StreamPiece]:
        stream = await self._client.chat.completions.create(
            **self._params(request), stream=True, stream_options={"include_usage": True}
        )
        return self._deltas(stream)

    async def _deltas(self, stream: Any) -> AsyncIterator[StreamPiece]:
        usage = Usage(self.model)
        try:
            async for chunk in stream:
                if chunk.usage is not None:
                    usage = self._usage(chunk.model, chunk.usage)
                for choice in chunk.choices or ():
                    if choice.delta is not None and choice.delta.content:
                        yield choice.delta.content
            yield usage
        finally:
            await stream.close()

    def _usage(self, model: str | None, usage: Any) -> Usage:
        if usage is None:
            return Usage(model or self.model)
        return Usage(
            model or self.model,
            usage.prompt_tokens or 0,
            usage.completion_tokens or 0,
        )

    def _classify(self, exc: BaseException) -> Failure | None:
        return classify_sdk_error(exc, self._sdk)

    async def aclose(self) -> None:
        await self._client.close()
