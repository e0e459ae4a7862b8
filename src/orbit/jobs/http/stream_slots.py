"""How many event streams a process serves: a cap, with a 503 beyond it.

Each open stream holds a slot of ``app.state.stream_slots`` from the moment its route
accepts it until its response ends, however it ends (``CountedStream``). With
``StreamOptions.max_streams`` slots taken, the next stream is a 503 problem with
``Retry-After``: a client polls meanwhile (the web's ``useJob`` falls back to polling).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fastapi import Request
from sse_starlette import EventSourceResponse
from starlette.types import Receive, Scope, Send

from orbit.jobs.http.problems import Problem

if TYPE_CHECKING:  # streams.py imports this module
    from orbit.jobs.http.streams import StreamOptions


class StreamSlots:
    """How many event streams this application has open (``app.state.stream_slots``)."""

    def __init__(self) -> None:
        self.open = 0

    def take(self, options: StreamOptions) -> Callable[[], None]:
        """One more open stream, or a 503 problem; returns its (idempotent) release."""
        if self.open >= options.max_streams:
            raise Problem(
                503,
                f"This server already serves {options.max_streams} event streams; "
                "retry shortly, or poll the job.",
                slug="too-many-streams",
                title="Too many event streams",
                headers={"Retry-After": str(options.busy_retry_after_seconds)},
                extensions={"max_streams": options.max_streams},
            )
        self.open += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.open -= 1

        return release


async def stream_slots(request: Request) -> StreamSlots:
    """The application's ``StreamSlots`` (made on first use)."""
    slots = getattr(request.app.state, "stream_slots", None)
    if not isinstance(slots, StreamSlots):
        slots = request.app.state.stream_slots = StreamSlots()
    return slots


class CountedStream(EventSourceResponse):
    """An event stream that gives its slot back however it ends."""

    def __init__(self, *args: Any, release: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._release = release

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self._release()
