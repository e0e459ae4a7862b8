"""``wait_set`` never swallows a cancellation, even one that meets the event being set."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from orbit.jobs.event_wait import wait_set


async def _survivors(wait: Callable[[asyncio.Event], Awaitable[object]], rounds: int) -> int:
    """How many of ``rounds`` polling loops, cancelled as their event is set, went on."""
    survived = 0
    for _ in range(rounds):
        event = asyncio.Event()

        async def poll(event: asyncio.Event = event) -> None:
            while True:
                await wait(event)
                event.clear()

        task = asyncio.create_task(poll())
        await asyncio.sleep(0)  # the loop is waiting
        await asyncio.sleep(0)
        event.set()
        task.cancel()
        done, _ = await asyncio.wait((task,), timeout=0.05)
        if not done:
            survived += 1
            task.cancel()
            await asyncio.wait((task,))
    return survived


async def test_a_cancel_that_meets_the_event_ends_the_waiter() -> None:
    assert await _survivors(lambda e: wait_set(e, 10), 50) == 0


async def test_the_event_or_the_timeout() -> None:
    event = asyncio.Event()
    assert await wait_set(event, 0.01) is False
    event.set()
    assert await wait_set(event, 0.01) is True
