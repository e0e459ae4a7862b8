"""PostgreSQL: engine setup, NOTIFY on new work and the LISTEN wake-up.

The claim itself is the shared statement in ``sql.py`` (``FOR UPDATE SKIP LOCKED`` renders
only here). NOTIFY is sent inside the transaction that made jobs runnable, so listeners
are woken only after commit; it is a hint, the table stays the truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence

import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from orbit.jobs.models import Outcome
from orbit.jobs.store.outcomes import outcome_params, outcome_payload
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


# One round trip records a whole batch: unnest the outcomes, update the rows still held
# under their lease tokens, and append a status event for exactly the rows updated.
RECORD_BATCH = sa.text("""
WITH o AS (
    SELECT * FROM unnest(
        CAST(:ids AS uuid[]), CAST(:tokens AS uuid[]), CAST(:statuses AS text[]),
        CAST(:results AS text[]), CAST(:errors AS text[]), CAST(:run_ats AS timestamptz[]),
        CAST(:given_back AS integer[]), CAST(:payloads AS text[])
    ) AS o(id, token, status, result, error, run_at, given_back, payload)
), u AS (
    UPDATE jobs AS j SET
        status = o.status,
        result = CASE WHEN o.status = 'pending' THEN NULL ELSE CAST(o.result AS jsonb) END,
        error = o.error,
        completed_at = CASE WHEN o.status = 'pending' THEN NULL ELSE :now END,
        run_at = CASE WHEN o.status = 'pending' THEN o.run_at ELSE j.run_at END,
        worker_id = CASE WHEN o.status = 'pending' THEN NULL ELSE j.worker_id END,
        attempts = j.attempts - o.given_back,
        progress_percent = CASE WHEN o.status = 'completed' THEN 100 ELSE j.progress_percent END,
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = :now,
        version = j.version + 1
    FROM o
    WHERE j.id = o.id AND j.status = 'running' AND j.lease_token = o.token
    RETURNING j.id, j.version, o.payload
)
INSERT INTO job_events (job_id, seq, kind, payload, created_at)
SELECT u.id, u.version, 'status', CAST(u.payload AS jsonb), :now FROM u
RETURNING job_id
""")


class PostgresDialect(Dialect):
    """PostgreSQL behaviour for the shared store."""

    name = "postgresql"

    def record_outcomes(
        self, conn: Connection, outcomes: Sequence[Outcome], now: dt.datetime
    ) -> set[uuid.UUID]:
        params = [outcome_params(o, now) for o in outcomes]
        recorded = conn.execute(
            RECORD_BATCH,
            {
                "ids": [p["o_id"] for p in params],
                "tokens": [p["o_token"] for p in params],
                "statuses": [p["o_status"] for p in params],
                "results": [json.dumps(p["o_result"]) for p in params],
                "errors": [p["o_error"] for p in params],
                "run_ats": [p["o_run_at"] for p in params],
                "given_back": [p["o_given_back"] for p in params],
                "payloads": [json.dumps(outcome_payload(o)) for o in outcomes],
                "now": now,
            },
        ).scalars()
        return {o.lease.job_id for o in outcomes} - set(recorded)

    def after_enqueue(self, conn: Connection) -> None:
        conn.execute(sa.text(f"NOTIFY {CHANNEL}"))

    def is_unique_violation(self, exc: sa.exc.IntegrityError) -> bool:
        return isinstance(exc.orig, psycopg.errors.UniqueViolation)

    def wakeup(self, engine: Engine, fallback_seconds: float) -> Wakeup:
        return ListenWakeup(libpq_conninfo(engine), fallback_seconds)
