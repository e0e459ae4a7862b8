"""``wait_set``: wait for an ``asyncio.Event`` with a timeout, without losing a cancel.

On Python 3.11 ``asyncio.wait_for`` can swallow a cancellation that arrives as the
awaited event is set in the same loop iteration (CPython gh-86296; 3.12 rewrote
``wait_for``): the waiter returns normally and the task that was told to stop goes on.
A loop that waits like that at every poll — the SQLite watcher waits 5 ms at a time —
then outlives ``ChangeFeed.close``, which cancels it once and waits for it to end, and
shutdown hangs. ``asyncio.wait`` never swallows the cancellation of its caller.
"""

from __future__ import annotations

import asyncio


async def wait_set(event: asyncio.Event, timeout: float | None) -> bool:
    """Wait until ``event`` is set or ``timeout`` seconds pass; True when it is set."""
    if event.is_set():
        return True
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait((waiter,), timeout=timeout)
    finally:
        waiter.cancel()
    return event.is_set()
