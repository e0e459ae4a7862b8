"""Store work from an event loop without blocking it: at once where nothing can wait.

A hop to a thread and back costs more than SQLite takes to commit a small write, and
after an idle moment on this kind of machine a thread's wake-up costs tens of
microseconds more. Work whose writes take ``wait`` (the HTTP routes' enqueues, the
worker's claims and outcomes) runs here on the loop with ``wait=False`` when the store
may work there now (SQLite with an idle pooled connection); a taken write lock raises
``WouldWait`` before anything is written, and the work runs again in a thread with
``wait=True``, as it always does on a database server (a network round trip).
``JobContext.progress`` does the same with its own retry schedule.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from orbit.jobs.errors import WouldWait

T = TypeVar("T")


class WorksOnLoop(Protocol):
    """A ``SQLStore`` or a ``JobClient``."""

    def may_work_on_loop(self) -> bool: ...


async def without_blocking(
    where: WorksOnLoop,
    work: Callable[[bool], T],
    to_thread: Callable[[Callable[[bool], T], bool], Awaitable[T]] = asyncio.to_thread,
) -> T:
    """``work(False)`` on the loop when ``where`` may work there now, else (or when it
    raises ``WouldWait``) ``work(True)`` through ``to_thread``.

    ``work`` passes ``wait`` to its writes and must change nothing before them: a
    ``WouldWait`` runs it again from the start. Its reads run on the loop too: SQLite in
    WAL mode answers a read without waiting for writers (only a file in recovery or
    locked exclusively, by a migration say, makes a read wait, up to ``busy_timeout``),
    and the pool check is not atomic with the checkouts after it (threads emptying the
    pool in between make the loop open a connection).
    """
    if where.may_work_on_loop():
        try:
            return work(False)
        except WouldWait:
            pass
    return await to_thread(work, True)
