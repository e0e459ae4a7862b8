"""Provider for Anthropic's Messages API, using the official ``anthropic`` SDK.

System messages are sent as the ``system`` parameter; the rest as the message
list.  Every request sends ``max_tokens``; no ``temperature`` (the current
Messages API, and so the SDK, no longer take one).  Structured calls
use tool use, the way Anthropic enforces a schema: one tool whose
``input_schema`` is the output schema, forced with ``tool_choice``; its input is
the reply.  ``stop_reason: "max_tokens"`` is reported as ``finish_reason:
"length"``.  The SDK is imported when the provider is built, so ``import orbit.ai``
works without the ``anthropic`` extra.  The SDK's own retries are disabled
(``max_retries=0``); `orbit.ai.retry` handles them.
"""

from __future__ import annotations

import json
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
    StructuredMode,
    Usage,
)
from orbit.ai.errors import AIConfigError
from orbit.ai.retry import Failure, RetryPolicy, classify_sdk_error

PLACEHOLDER_API_KEY = "orbit-no-key"
"""Sent to a custom ``base_url`` (a gateway or proxy) when no key is configured."""


def import_anthropic() -> ModuleType:
    """Import the ``anthropic`` SDK or explain how to install it."""
    try:
        import anthropic  # optional dependency, imported on demand
    except ImportError as exc:
        raise AIConfigError(
            "the 'anthropic' AI provider needs the anthropic SDK: pip install 'orbit[anthropic]'"
        ) from exc
    return anthropic


class AnthropicProvider(BaseProvider):
    """Claude models through the Messages API."""

    name: ClassVar[str] = "anthropic"
    structured_modes: ClassVar[tuple[StructuredMode, ...]] = ("tool_use", "prompt")

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
            label=f"anthropic:{model}@{base_url or 'api.anthropic.com'}",
        )
        if not api_key and base_url is None:
            raise AIConfigError("the 'anthropic' AI provider needs an API key (ORBIT_AI_API_KEY)")
        self._sdk = import_anthropic()
        self._client: Any = self._sdk.AsyncAnthropic(
            api_key=api_key or PLACEHOLDER_API_KEY,
            base_url=base_url or "https://api.anthropic.com",
            timeout=timeout_seconds,
            max_retries=0,
        )

    def _params(self, request: ChatRequest) -> dict[str, Any]:
        system = "\n\n".join(m.content for m in request.messages if m.role == "system")
        params: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "messages": [
                {"role": m.role, "content": m.content}
                for m in request.messages
                if m.role != "system"
            ],
        }
        if system:
            params["system"] = system
        if request.mode == "tool_use":
            tool = request.schema_name or "output"
            params["tools"] = [
                {
                    "name": tool,
                    "description": f"Record the {tool} you were asked for.",
                    "input_schema": dict(request.schema or {"type": "object"}),
                }
            ]
            params["tool_choice"] = {"type": "tool", "name": tool}
        return params

    async def _send(self, request: ChatRequest) -> ModelReply:
        message = await self._client.messages.create(**self._params(request))
        usage = message.usage
        reported = usage is not None
        tokens_in = usage.input_tokens if usage else 0
        tokens_out = usage.output_tokens if usage else 0
        return ModelReply(
            _reply_text(message.content),
            Usage(message.model or self.model, tokens_in, tokens_out, reported=reported),
            _finish_reason(message.stop_reason),
        )

    async def _open_stream(self, request: ChatRequest) -> AsyncIterator[StreamPiece]:
        stream = await self._client.messages.create(**self._params(request), stream=True)
        return self._deltas(stream)

    async def _deltas(self, stream: Any) -> AsyncIterator[StreamPiece]:
        model, tokens_in, tokens_out = self.model, 0, 0
        finish: str | None = None
        try:
            async for event in stream:
                kind = getattr(event, "type", "")
                if kind == "message_start":
                    model = event.message.model or model
                    tokens_in = event.message.usage.input_tokens or 0
                elif kind == "content_block_delta" and event.delta.type == "text_delta":
                    yield event.delta.text
                elif kind == "message_delta":
                    finish = _finish_reason(getattr(event.delta, "stop_reason", None)) or finish
                    if event.usage is not None:
                        tokens_out = event.usage.output_tokens or tokens_out
            reported = bool(tokens_in or tokens_out)
            yield StreamEnd(Usage(model, tokens_in, tokens_out, reported=reported), finish)
        finally:
            await stream.close()

    def _classify(self, exc: BaseException) -> Failure | None:
        return classify_sdk_error(exc, self._sdk)

    async def aclose(self) -> None:
        await self._client.close()


def _reply_text(content: Any) -> str:
    """The text of a reply: a forced tool's input as JSON, else the text blocks."""
    for block in content:
        if getattr(block, "type", "") == "tool_use":
            return json.dumps(block.input)
    return "".join(block.text for block in content if getattr(block, "type", "") == "text")


def _finish_reason(stop_reason: str | None) -> str | None:
    """Anthropic's ``stop_reason`` in the OpenAI vocabulary (``"length"`` when cut off)."""
    return "length" if stop_reason == "max_tokens" else stop_reason
