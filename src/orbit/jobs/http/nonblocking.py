"""Store work from an ``async`` route, without blocking its event loop.

A plain ``def`` route costs FastAPI a hop to its thread pool and back, more CPU than
SQLite takes to read a row and commit a job. An ``async`` route hands its store calls to
``without_blocking`` instead (``orbit.jobs.nonblocking``): on SQLite they run at once, on
the loop, when nothing is in their way; anything that would wait (the write lock taken,
no idle pooled connection, a database server at the other end of the network) runs in
the thread pool of the app's sync routes (``ORBIT_HTTP_THREADS``).

Example:
    >>> @router.post("/interviews/{interview_id}/messages", status_code=202)
    ... async def send(interview_id: uuid.UUID, body: Msg, client: ClientDep) -> JSONResponse:
    ...     def enqueue(wait: bool) -> Job:
    ...         return client.enqueue("interview_message", body.model_dump(), wait=wait)
    ...
    ...     return accepted(await without_blocking(client, enqueue))
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from starlette.concurrency import run_in_threadpool

from orbit.jobs import nonblocking
from orbit.jobs.client import JobClient

T = TypeVar("T")


async def without_blocking(client: JobClient, work: Callable[[bool], T]) -> T:
    """``work(wait=False)`` on the loop when ``client``'s store may work there now, else
    (or when it raises ``WouldWait``) ``work(wait=True)`` in the thread pool.

    ``work`` passes ``wait`` to its writes (``client.enqueue(..., wait=wait)``) and must
    change nothing before them: a ``WouldWait`` runs it again from the start.
    """
    return await nonblocking.without_blocking(client, work, run_in_threadpool)
