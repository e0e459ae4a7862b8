"""What the app's handlers and routes share: the database, the AI provider, settings.

``PlanningServices`` is built explicitly (in ``create_app``'s lifespan or ``orbit worker``)
and handed to the routes (``request.app.state.planning``) and the job handlers
(bound when they are registered). It builds the AI provider lazily, once.

AI usage rows of a job are written under the job's lease (``ctx.guarded_blocking``), like
every other write a worker makes after its claim: a worker that lost its lease records
nothing for a job that is now someone else's.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import logging
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from orbit.ai import AIConfig, CallRecord, CallRecorder, Provider, create_provider
from orbit.jobs import JobContext, LeaseLost, SyncJobContext
from orbit.planning.schema import ai_calls
from orbit.settings import Settings

log = logging.getLogger("orbit.planning")

RunningJob = JobContext | SyncJobContext
"""A running job's context: its id and its lease-guarded writes."""


def ai_config(settings: Settings) -> AIConfig:
    """The AI layer's configuration from Orbit's settings."""
    return settings.ai_config()


class PlanningServices:
    """The app's shared dependencies."""

    def __init__(
        self, settings: Settings, engine: sa.Engine, lone_reads: sa.Engine | None = None
    ) -> None:
        self.settings = settings
        self.engine = engine
        # Reads of one statement, each its own transaction (one round trip on PostgreSQL).
        self.lone_reads = lone_reads or engine
        self.projects_dir = Path(settings.projects_dir).expanduser().resolve()
        self._provider: Provider | None = None
        self._pending: set[asyncio.Future[None]] = set()

    @property
    def provider(self) -> Provider:
        """The configured LLM provider (built on first use)."""
        if self._provider is None:
            self._provider = create_provider(ai_config(self.settings))
        return self._provider

    @property
    def model_name(self) -> str:
        """The configured model, as failure messages name it."""
        return self.provider.model

    def ai_for(self, job: RunningJob | None) -> Provider:
        """The provider, recording every call it makes against ``job`` (``None``: no job)."""
        return self.provider.with_recorder(self.recorder(job))

    def recorder(self, job: RunningJob | None) -> CallRecorder:
        """A recorder that stores each AI call (tokens, latency, outcome) for ``job``."""

        def record(call: CallRecord) -> None:
            row = {
                "job_id": None if job is None else job.job_id,
                "provider": call.provider,
                "model": call.model,
                "prompt_name": call.prompt_name,
                "operation": call.operation,
                "tokens_in": call.tokens_in,
                "tokens_out": call.tokens_out,
                "latency_ms": call.latency_ms,
                "ok": call.ok,
                "error": call.error,
                "attempts": call.attempts,
                "estimated": call.estimated,
                "mode": call.mode,
                "finish_reason": call.finish_reason,
                "created_at": dt.datetime.now(dt.UTC),
            }
            write = functools.partial(self._write_call, job, row)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # called from a thread: write here
                write()
                return
            # Called on the event loop (the async providers): never block it on a write.
            pending = loop.run_in_executor(None, write)
            self._pending.add(pending)
            pending.add_done_callback(self._pending.discard)

        return record

    def _write_call(self, job: RunningJob | None, row: dict[str, Any]) -> None:
        def insert(conn: sa.Connection) -> None:
            conn.execute(sa.insert(ai_calls), row)

        try:
            if job is None:
                with self.engine.begin() as conn:
                    insert(conn)
            else:
                job.guarded_blocking(insert)
        except LeaseLost:
            log.info("job %s lost its lease; its AI call is not recorded", row["job_id"])
        except Exception:  # a lost usage record must not fail the job that made the call
            log.warning("could not record an AI call for job %s", row["job_id"], exc_info=True)

    async def aclose(self) -> None:
        """Finish recording AI calls; close the provider's HTTP client, if one was built."""
        if self._pending:
            await asyncio.gather(*self._pending, return_exceptions=True)
        if self._provider is not None:
            await self._provider.aclose()
            self._provider = None
