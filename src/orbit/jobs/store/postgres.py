"""PostgreSQL: engine setup, NOTIFY on new work and the LISTEN wake-up.

The claim itself is the shared statement in ``sql.py`` (``FOR UPDATE SKIP LOCKED`` renders
only here). NOTIFY is sent inside the transaction that made jobs runnable, so listeners
are woken only after commit; it is a hint, the table stays the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from orbit.jobs.store.sql import Dialect
from orbit.jobs.store.wakeup import Wakeup

CHANNEL = "orbit_jobs"
RECONNECT_SECONDS = 1.0

log = logging.getLogger("orbit.jobs.postgres")


def create_postgres_engine(url: sa.URL) -> Engine:
    """An engine on psycopg 3 for a PostgreSQL URL."""
    return sa.create_engine(
        url.set(drivername="postgresql+psycopg"),
        pool_size=10,
        max_overflow=20,
        pool_pre_ping=False,
    )


def libpq_conninfo(engine: Engine) -> str:
    """The engine's URL in the form libpq accepts."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class ListenWakeup(Wakeup):
    """Signals on ``NOTIFY orbit_jobs``; reconnects by itself when the server restarts."""

    def __init__(self, conninfo: str, fallback_seconds: float) -> None:
        super().__init__(fallback_seconds)
        self._conninfo = conninfo
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await super().start()
        self._task = asyncio.create_task(self._listen(), name="orbit-pg-listen")

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._conninfo, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.notify()  # anything enqueued while we were away
                    async for _ in conn.notifies():
                        self.notify()
            except psycopg.OperationalError as exc:
                log.warning("listen connection lost (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_SECONDS)

    async def close(self) -> None:
        await super().close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class PostgresDialect(Dialect):
    """PostgreSQL behaviour for the shared store."""

    name = "postgresql"

    def after_enqueue(self, conn: Connection) -> None:
        conn.execute(sa.text(f"NOTIFY {CHANNEL}"))

    def is_unique_violation(self, exc: sa.exc.IntegrityError) -> bool:
        return isinstance(exc.orig, psycopg.errors.UniqueViolation)

    def wakeup(self, engine: Engine, fallback_seconds: float) -> Wakeup:
        return ListenWakeup(libpq_conninfo(engine), fallback_seconds)
