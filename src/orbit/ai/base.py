"""The provider protocol of the AI layer and the shared implementation behind it.

A `Prompt` is a named application operation (``"backlog.epic"``,
``"commit.message"``, ...) together with its rendered chat messages, its input
variables and its output budget.  Every `Provider` offers three calls:

* `Provider.complete` - the whole reply as a `Completion` (text, model, token
  counts, latency);
* `Provider.stream` - a `TextStream` of text deltas whose ``completion`` is set
  once the stream is exhausted;
* `Provider.structured` - JSON output validated against a pydantic model, in the
  strongest mode the server enforces (`orbit.ai.modes`), repaired locally and
  then once by the model if needed (`orbit.ai.structured`).

`BaseProvider` implements all three on top of two per-provider hooks
(`BaseProvider._send` and `BaseProvider._open_stream`) and keeps every call
bounded and honest:

* every request carries ``max_tokens`` (the prompt's budget, capped by
  `CallOptions.max_output_tokens`) and a temperature (low for structured calls);
* a reply cut off at the budget (``finish_reason: "length"``) is retried once
  with twice the budget, then fails with `AIOutputTruncated`;
* ``timeout_seconds`` is the deadline of the whole call - every attempt, backoff,
  length retry and repair round; the whole of a stream - after which `AITimeout`;
* token counts the server does not report are estimated
  (`orbit.ai.calls.estimate_tokens`) and recorded with ``estimated=True``.
"""

from __future__ import annotations

import asyncio
import copy
import dataclasses
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from typing import ClassVar, Self, TypeVar

from pydantic import BaseModel

from orbit.ai.calls import (
    CallRecord,
    CallRecorder,
    ChatRequest,
    Completion,
    ModelReply,
    Operation,
    StreamEnd,
    StreamPiece,
    StructuredMode,
    Usage,
    honest_usage,
    partial_usage,
)
from orbit.ai.errors import (
    AIAPIError,
    AIModeRejected,
    AIOutputTruncated,
    AITimeout,
    AIUnavailable,
)
from orbit.ai.modes import ModeChooser, rejects_mode, wire_schema
from orbit.ai.prompts import Message, Prompt
from orbit.ai.protocol import CallOptions, Provider
from orbit.ai.retry import CallSite, Classifier, Failure, RetryPolicy, call_with_retries, to_error
from orbit.ai.stream import TextStream
from orbit.ai.structured import run_structured

__all__ = [
    "BaseProvider",
    "CallOptions",
    "CallRecord",
    "CallRecorder",
    "ChatRequest",
    "Completion",
    "ModelReply",
    "Provider",
    "StreamEnd",
    "StreamPiece",
    "StructuredMode",
    "TextStream",
    "Usage",
]

log = logging.getLogger(__name__)

SchemaT = TypeVar("SchemaT", bound=BaseModel)


class BaseProvider(ABC):
    """Shared implementation of `Provider`: limits, modes, retries, errors, recording."""

    name: ClassVar[str]
    structured_modes: ClassVar[tuple[StructuredMode, ...]] = (
        "json_schema",
        "json_object",
        "prompt",
    )
    """This provider's structured modes, strongest first (see `orbit.ai.modes`)."""

    def __init__(
        self,
        *,
        model: str,
        timeout_seconds: float = 60.0,
        retry_policy: RetryPolicy | None = None,
        recorder: CallRecorder | None = None,
        options: CallOptions | None = None,
        label: str | None = None,
    ) -> None:
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.retry_policy = retry_policy or RetryPolicy()
        self.options = options or CallOptions()
        self._recorder = recorder
        # Shared by every with_recorder view: the fallback is remembered per process.
        self._modes = ModeChooser(
            self.structured_modes, self.options.structured, label=label or f"{self.name}:{model}"
        )

    # -- hooks -------------------------------------------------------------

    @abstractmethod
    async def _send(self, request: ChatRequest) -> ModelReply:
        """Make one API attempt (no retries) and return the reply."""

    @abstractmethod
    async def _open_stream(self, request: ChatRequest) -> AsyncIterator[StreamPiece]:
        """Start one streaming attempt; failures before the first delta are retried."""

    def _classify(self, exc: BaseException) -> Failure | None:
        """Translate an SDK exception into a `Failure`; ``None`` re-raises it as is."""
        return None

    async def aclose(self) -> None:
        """Release network resources (idempotent); nothing to release by default."""
        return None

    # -- public API ----------------------------------------------------------

    @property
    def structured_mode(self) -> StructuredMode:
        return self._modes.current

    def with_recorder(self, recorder: CallRecorder | None) -> Self:
        """A view of this provider (sharing its client) that reports to ``recorder``."""
        clone = copy.copy(self)
        clone._recorder = recorder
        return clone

    async def complete(self, prompt: Prompt) -> Completion:
        request = self._request(prompt, prompt.messages, None)
        return await self._bounded(request, "complete", self._deadline())

    def stream(self, prompt: Prompt) -> TextStream:
        return TextStream(self._stream_events(self._request(prompt, prompt.messages, None)))

    async def structured(self, prompt: Prompt, schema: type[SchemaT]) -> SchemaT:
        deadline = self._deadline()
        wire = wire_schema(schema)

        async def send(messages: tuple[Message, ...]) -> str:
            while True:
                mode = self._modes.current
                request = dataclasses.replace(
                    self._request(prompt, messages, mode), schema=wire, schema_name=schema.__name__
                )
                try:
                    completion = await self._bounded(request, "structured", deadline)
                except AIModeRejected as exc:
                    if not self._modes.fall_back(mode, exc):
                        raise
                    continue
                self._modes.confirm(mode)
                return completion.text

        return await run_structured(send, prompt.name, prompt.messages, schema, model=self.model)

    # -- internals -------------------------------------------------------------

    def _request(
        self, prompt: Prompt, messages: tuple[Message, ...], mode: StructuredMode | None
    ) -> ChatRequest:
        options = self.options
        temperature = options.temperature if mode is None else options.structured_temperature
        budget = min(prompt.max_tokens, options.max_output_tokens)
        return ChatRequest(prompt, messages, max_tokens=budget, temperature=temperature, mode=mode)

    def _deadline(self) -> float:
        return asyncio.get_running_loop().time() + self.timeout_seconds

    def _site(self, request: ChatRequest) -> CallSite:
        return CallSite(
            provider=self.name,
            model=self.model,
            prompt_name=request.prompt.name,
            timeout_seconds=self.timeout_seconds,
            retry_after_max_seconds=self.options.retry_after_max_seconds,
        )

    def _classifier(self, request: ChatRequest) -> Classifier:
        """`_classify`, telling a refused structured mode apart from other refusals."""

        def classify(exc: BaseException) -> Failure | None:
            failure = self._classify(exc)
            constrained = request.mode is not None and request.mode != "prompt"
            if failure is not None and constrained and rejects_mode(failure):
                return dataclasses.replace(failure, kind="mode")
            return failure

        return classify

    def _deadline_error(self, request: ChatRequest, attempts: int = 1) -> AITimeout:
        return AITimeout(
            f"no complete reply within the {self.timeout_seconds:g}s deadline",
            provider=self.name,
            attempts=attempts,
            prompt_name=request.prompt.name,
            model=self.model,
        )

    def _cut_stream_error(self, request: ChatRequest, attempts: int) -> AIUnavailable:
        return AIUnavailable(
            "the stream ended before the model finished (no finish reason)",
            provider=self.name,
            attempts=attempts,
            prompt_name=request.prompt.name,
            model=self.model,
        )

    async def _bounded(
        self, request: ChatRequest, operation: Operation, deadline: float
    ) -> Completion:
        """`_complete`, retried once with a larger budget when cut off at ``max_tokens``."""
        completion = await self._complete(request, operation, deadline)
        if completion.finish_reason != "length":
            return completion
        larger = min(request.max_tokens * 2, self.options.max_output_tokens)
        if larger > request.max_tokens:
            log.info(
                "%s reply cut off at %d tokens; retrying with %d",
                request.prompt.name,
                request.max_tokens,
                larger,
            )
            request = dataclasses.replace(request, max_tokens=larger)
            completion = await self._complete(request, operation, deadline)
            if completion.finish_reason != "length":
                return completion
        raise AIOutputTruncated(
            prompt_name=request.prompt.name,
            schema_name=request.schema_name or "text",
            errors=[f"the reply was cut off at its budget of {request.max_tokens} tokens"],
            raw_output=completion.text,
            model=completion.model,
        )

    async def _complete(
        self, request: ChatRequest, operation: Operation, deadline: float
    ) -> Completion:
        started = time.monotonic()
        try:
            async with asyncio.timeout_at(deadline):
                reply, attempts = await call_with_retries(
                    lambda: self._send(request),
                    classify=self._classifier(request),
                    policy=self.retry_policy,
                    site=self._site(request),
                    deadline=deadline,
                )
        except TimeoutError as exc:  # the whole-call deadline passed
            error = self._deadline_error(request)
            self._record(request, operation, started, Usage(self.model), error, 1)
            raise error from exc
        except BaseException as exc:
            attempts = exc.attempts if isinstance(exc, AIAPIError) else 1
            self._record(request, operation, started, Usage(self.model), exc, attempts)
            raise
        usage = honest_usage(request.messages, reply.usage, reply.text)
        latency = self._record(
            request, operation, started, usage, None, attempts, reply.finish_reason
        )
        return Completion(
            reply.text,
            usage.model,
            usage.tokens_in,
            usage.tokens_out,
            latency,
            finish_reason=reply.finish_reason,
            estimated=not usage.reported,
            mode=request.mode,
        )

    async def _stream_events(self, request: ChatRequest) -> AsyncGenerator[str | Completion, None]:
        started = time.monotonic()
        deadline = self._deadline()
        attempts = 1
        parts: list[str] = []
        end = StreamEnd(Usage(self.model, reported=False))
        error: BaseException | str | None = "stream closed before it finished"
        try:
            pieces, attempts = await self._open(request, deadline)
            guarded = self._guard_stream(pieces, request, attempts, deadline)
            async for piece in guarded:
                if isinstance(piece, StreamEnd):
                    end = piece
                else:
                    parts.append(piece)
                    yield piece
            if end.finish_reason is None:  # the connection ended before the model did
                raise self._cut_stream_error(request, attempts)
            error = None
            if end.finish_reason == "length":
                log.warning(
                    "%s stream cut off at %d tokens", request.prompt.name, request.max_tokens
                )
            usage = honest_usage(request.messages, end.usage, "".join(parts))
            end = StreamEnd(usage, end.finish_reason)
            yield Completion(
                "".join(parts),
                usage.model,
                usage.tokens_in,
                usage.tokens_out,
                _elapsed_ms(started),
                finish_reason=end.finish_reason,
                estimated=not usage.reported,
            )
        except Exception as exc:
            error = exc
            if isinstance(exc, AIAPIError):
                attempts = exc.attempts
            raise
        finally:
            usage = (
                end.usage if error is None else partial_usage(request.messages, parts, self.model)
            )
            self._record(request, "stream", started, usage, error, attempts, end.finish_reason)

    async def _open(
        self, request: ChatRequest, deadline: float
    ) -> tuple[AsyncIterator[StreamPiece], int]:
        """Open the stream (retried like any call) within the deadline."""
        try:
            async with asyncio.timeout_at(deadline):
                return await call_with_retries(
                    lambda: self._open_stream(request),
                    classify=self._classifier(request),
                    policy=self.retry_policy,
                    site=self._site(request),
                    deadline=deadline,
                )
        except TimeoutError as exc:
            raise self._deadline_error(request) from exc

    async def _guard_stream(
        self,
        pieces: AsyncIterator[StreamPiece],
        request: ChatRequest,
        attempts: int,
        deadline: float,
    ) -> AsyncGenerator[StreamPiece, None]:
        """Each piece within the deadline; SDK errors mid-stream are mapped, not retried."""
        iterator = aiter(pieces)
        try:
            while True:
                try:
                    async with asyncio.timeout_at(deadline):
                        piece = await anext(iterator)
                except StopAsyncIteration:
                    return
                except TimeoutError as exc:
                    raise self._deadline_error(request, attempts) from exc
                except Exception as exc:
                    failure = self._classify(exc)
                    if failure is None:
                        raise
                    raise to_error(failure, self._site(request), attempts) from exc
                yield piece
        finally:
            closer = getattr(pieces, "aclose", None)
            if closer is not None:
                await closer()

    def _record(
        self,
        request: ChatRequest,
        operation: Operation,
        started: float,
        usage: Usage,
        error: BaseException | str | None,
        attempts: int,
        finish_reason: str | None = None,
    ) -> int:
        latency = _elapsed_ms(started)
        if self._recorder is None:
            return latency
        record = CallRecord(
            provider=self.name,
            model=usage.model,
            prompt_name=request.prompt.name,
            operation=operation,
            tokens_in=usage.tokens_in,
            tokens_out=usage.tokens_out,
            latency_ms=latency,
            ok=error is None,
            error=None if error is None else str(error) or type(error).__name__,
            attempts=attempts,
            estimated=not usage.reported,
            mode=request.mode,
            finish_reason=finish_reason,
        )
        try:
            self._recorder(record)
        except Exception:
            log.exception("AI call recorder failed for %s", record)
        return latency


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
