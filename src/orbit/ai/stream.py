"""`TextStream`: the async iterator a provider's ``stream`` call returns."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from types import TracebackType

from orbit.ai.calls import Completion
from orbit.ai.errors import AIError


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
