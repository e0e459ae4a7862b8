"""Helpers for the tests of what runs on the event loop: where a call ran, and a ticker."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, NamedTuple

import pytest


class Call(NamedTuple):
    """One recorded call: its result, whether it ran on the loop's thread, and ``wait``."""

    result: Any
    on_loop: bool
    wait: bool


def record_calls(monkeypatch: pytest.MonkeyPatch, target: object, name: str) -> list[Call]:
    """Record every call of ``target.name`` (its last positional argument is ``wait``);
    call from the test's loop: that thread is the loop's."""
    calls: list[Call] = []
    method = getattr(target, name)
    loop_thread = threading.get_ident()

    def recorded(*args: Any) -> Any:
        result = method(*args)
        calls.append(Call(result, threading.get_ident() == loop_thread, args[-1]))
        return result

    monkeypatch.setattr(target, name, recorded)
    return calls


@contextlib.asynccontextmanager
async def ticking() -> AsyncIterator[Callable[[], int]]:
    """A task counting the loop's turns, 1 ms apart, while the block runs: a loop that a
    blocking call held would stop counting."""
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            ticks += 1
            await asyncio.sleep(0.001)

    ticker = asyncio.create_task(tick())
    try:
        yield lambda: ticks
    finally:
        ticker.cancel()


@contextlib.contextmanager
def another_process_writing(database: str) -> Iterator[None]:
    """SQLite's write lock held by another connection until the block ends, as another
    process would hold it."""
    other = sqlite3.connect(database, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("COMMIT")
        other.close()
