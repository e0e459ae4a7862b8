"""Core types and the provider protocol of the AI layer.

A `Prompt` is a named application operation (``"backlog.epic"``,
``"commit.message"``, ...) together with its rendered chat messages and the
input variables it was rendered from.  Every `Provider` offers three calls:

* `Provider.complete` - the whole reply as a `Completion` (text, model, token
  counts, latency);
* `Provider.stream` - a `TextStream` of text deltas whose ``completion`` is set
  once the stream is exhausted;
* `Provider.structured` - JSON output validated against a pydantic model, with
  one repair round-trip (see `orbit.ai.structured`).

`BaseProvider` implements all three on top of two per-provider hooks
(`BaseProvider._send` and `BaseProvider._open_stream`), and takes care of
retries, error mapping (timeouts, HTTP statuses) and call recording
(`CallRecord`).
"""

from __future__ import annotations

import copy
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from types import TracebackType
from typing import ClassVar, Literal, Protocol, Self, TypeVar

from pydantic import BaseModel

from orbit.ai.errors import AIAPIError, AIError
from orbit.ai.prompts import Message, Prompt
from orbit.ai.retry import Failure, RetryPolicy, call_with_retries, to_error
from orbit.ai.structured import run_structured

log = logging.getLogger(__name__)

SchemaT = TypeVar("SchemaT", bound=BaseModel)

Operation = Literal["complete", "stream", "structured"]


@dataclass(frozen=True, slots=True)
class Completion:
    """A finished model reply."""

    text: str
    model: str
    tokens_in: int
    tokens_out: int
    latency_ms: int


@dataclass(frozen=True, slots=True)
class CallRecord:
    """What one provider call cost and how it ended; persisted by the application."""

    provider: str
    model: str
    prompt_name: str
    operation: Operation
    tokens_in: int
    tokens_out: int
    latency_ms: int
    ok: bool
    error: str | None = None
    attempts: int = 1


CallRecorder = Callable[[CallRecord], None]
"""Receives a `CallRecord` after every call, successful or not."""


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage reported by a model API."""

    model: str
    tokens_in: int = 0
    tokens_out: int = 0


@dataclass(frozen=True, slots=True)
class ModelReply:
    """The raw result of one successful API attempt."""

    text: str
    usage: Usage


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """What a provider hook sends: the prompt plus the messages of this attempt."""

    prompt: Prompt
    messages: tuple[Message, ...]
    json_mode: bool = False


StreamPiece = str | Usage
"""A stream hook yields text deltas, and a `Usage` when the API reports one."""


class Provider(Protocol):
    """What the application relies on; see `BaseProvider` for the behaviour."""

    model: str

    @property
    def name(self) -> str:
        """``"offline"``, ``"openai"`` or ``"anthropic"``."""
        ...

    async def complete(self, prompt: Prompt) -> Completion:
        """The whole reply, with token counts and latency."""
        ...

    def stream(self, prompt: Prompt) -> TextStream:
        """Text deltas as they arrive; the request starts on first iteration."""
        ...

    async def structured(self, prompt: Prompt, schema: type[SchemaT]) -> SchemaT:
        """JSON output validated as ``schema``; one repair attempt, then `AIInvalidOutput`."""
        ...

    def with_recorder(self, recorder: CallRecorder | None) -> Provider:
        """The same provider (sharing its HTTP client) reporting calls to ``recorder``."""
        ...

    async def aclose(self) -> None:
        """Release the HTTP client; shared by every `with_recorder` view."""
        ...


class TextStream:
    """Async iterator of text deltas; ``completion`` is set once it is exhausted.

    Use as ``async with provider.stream(prompt) as stream: async for delta in stream``
    so the HTTP response is released even when the consumer stops early.
    """

    def __init__(self, events: AsyncGenerator[str | Completion, None]) -> None:
        self._events = events
        self._done = False
        self.completion: Completion | None = None

    def __aiter__(self) -> TextStream:
        return self

    async def __anext__(self) -> str:
        if self._done:
            raise StopAsyncIteration
        try:
            item = await self._events.__anext__()
        except BaseException:
            self._done = True
            raise
        if isinstance(item, Completion):
            self.completion = item
            self._done = True
            await self._events.aclose()
            raise StopAsyncIteration
        return item

    async def collect(self) -> Completion:
        """Consume the rest of the stream and return the final `Completion`."""
        async for _ in self:
            pass
        if self.completion is None:
            raise AIError("stream ended without a completion")
        return self.completion

    async def aclose(self) -> None:
        self._done = True
        await self._events.aclose()

    async def __aenter__(self) -> TextStream:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


class BaseProvider(ABC):
    """Shared implementation of `Provider`: retries, error mapping, recording."""

    name: ClassVar[str]

    def __init__(
        self,
        *,
        model: str,
        timeout_seconds: float = 60.0,
        retry_policy: RetryPolicy | None = None,
        recorder: CallRecorder | None = None,
    ) -> None:
        self.model = model
        self.timeout_seconds = timeout_seconds
        self.retry_policy = retry_policy or RetryPolicy()
        self._recorder = recorder

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

    def with_recorder(self, recorder: CallRecorder | None) -> Self:
        """A view of this provider (sharing its client) that reports to ``recorder``."""
        clone = copy.copy(self)
        clone._recorder = recorder
        return clone

    async def complete(self, prompt: Prompt) -> Completion:
        return await self._complete(ChatRequest(prompt, prompt.messages), "complete")

    def stream(self, prompt: Prompt) -> TextStream:
        return TextStream(self._stream_events(ChatRequest(prompt, prompt.messages)))

    async def structured(self, prompt: Prompt, schema: type[SchemaT]) -> SchemaT:
        async def send(messages: tuple[Message, ...]) -> str:
            request = ChatRequest(prompt, messages, json_mode=True)
            return (await self._complete(request, "structured")).text

        return await run_structured(send, prompt.name, prompt.messages, schema)

    # -- internals -------------------------------------------------------------

    async def _complete(self, request: ChatRequest, operation: Operation) -> Completion:
        started = time.monotonic()
        try:
            reply, attempts = await call_with_retries(
                lambda: self._send(request),
                classify=self._classify,
                policy=self.retry_policy,
                provider=self.name,
                timeout_seconds=self.timeout_seconds,
            )
        except BaseException as exc:
            attempts = exc.attempts if isinstance(exc, AIAPIError) else 1
            self._record(request, operation, started, Usage(self.model), exc, attempts)
            raise
        latency = self._record(request, operation, started, reply.usage, None, attempts)
        usage = reply.usage
        return Completion(reply.text, usage.model, usage.tokens_in, usage.tokens_out, latency)

    async def _stream_events(self, request: ChatRequest) -> AsyncGenerator[str | Completion, None]:
        started = time.monotonic()
        attempts = 1
        usage = Usage(self.model)
        error: BaseException | str | None = "stream closed before it finished"
        try:
            pieces, attempts = await call_with_retries(
                lambda: self._open_stream(request),
                classify=self._classify,
                policy=self.retry_policy,
                provider=self.name,
                timeout_seconds=self.timeout_seconds,
            )
            parts: list[str] = []
            async with aclosing(self._guard_stream(pieces, attempts)) as guarded:
                async for piece in guarded:
                    if isinstance(piece, Usage):
                        usage = piece
                    else:
                        parts.append(piece)
                        yield piece
            error = None
            latency = _elapsed_ms(started)
            yield Completion(
                "".join(parts), usage.model, usage.tokens_in, usage.tokens_out, latency
            )
        except Exception as exc:
            error = exc
            if isinstance(exc, AIAPIError):
                attempts = exc.attempts
            raise
        finally:
            self._record(request, "stream", started, usage, error, attempts)

    async def _guard_stream(
        self, pieces: AsyncIterator[StreamPiece], attempts: int
    ) -> AsyncGenerator[StreamPiece, None]:
        """Map SDK errors raised mid-stream; those are not retried (text was already sent)."""
        try:
            async for piece in pieces:
                yield piece
        except Exception as exc:
            failure = self._classify(exc)
            if failure is None:
                raise
            raise to_error(
                failure,
                provider=self.name,
                attempts=attempts,
                timeout_seconds=self.timeout_seconds,
            ) from exc
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
        )
        try:
            self._recorder(record)
        except Exception:
            log.exception("AI call recorder failed for %s", record)
        return latency


def _elapsed_ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
