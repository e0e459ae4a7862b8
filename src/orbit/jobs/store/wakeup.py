"""Wake-up signals for idle workers, so they pick up new work without busy polling.

The base ``Wakeup`` combines an in-process signal (set when this process enqueues) with a
fallback timeout (for scheduled retries and missed signals). Each dialect adds its own
cross-process source: PostgreSQL LISTEN/NOTIFY, SQLite's ``PRAGMA data_version``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable


class Wakeup:
    """Tells a waiting worker that there may be new work."""

    def __init__(self, fallback_seconds: float) -> None:
        self.fallback_seconds = fallback_seconds
        self.unsubscribe: Callable[[], None] = lambda: None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._event: asyncio.Event | None = None

    async def start(self) -> None:
        """Bind to the running loop and start listening."""
        self._loop = asyncio.get_running_loop()
        self._event = asyncio.Event()

    def notify(self) -> None:
        """Wake the waiter (call from the loop's thread)."""
        if self._event is not None:
            self._event.set()

    def notify_threadsafe(self) -> None:
        """Wake the waiter from any thread."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop closing under us
                loop.call_soon_threadsafe(self.notify)

    async def wait(self, timeout: float | None = None) -> bool:
        """Wait for a signal or the timeout; True when signalled."""
        assert self._event is not None, "start() first"
        limit = self.fallback_seconds if timeout is None else timeout
        try:
            await asyncio.wait_for(self._event.wait(), limit)
        except TimeoutError:
            return False
        finally:
            self._event.clear()
        return True

    async def close(self) -> None:
        """Stop listening and unsubscribe."""
        self.unsubscribe()
