"""``create_app(settings)``: the FastAPI application, built explicitly, never at import.

It composes the engine's jobs API (``orbit.jobs.http``) under ``/api/v1``: RFC 9457
problem responses for every error, a request body size limit and, when ``api_token`` is
set, a bearer token on every ``/api/v1`` route except the health check.

The lifespan opens the job store, migrates it when asked (``ORBIT_MIGRATE_ON_START``),
starts the store's change feed (the process's one database watcher) and, unless
``embedded_worker`` is off, runs a worker on the server's own loop so a
single ``orbit serve`` is a complete system. API servers and workers scale apart with
``orbit serve --no-worker`` plus ``orbit worker``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import anyio
from fastapi import FastAPI
from fastapi.telemetry import TelemetryConfig

from orbit.api.web import mount_web
from orbit.jobs import JobRegistry
from orbit.jobs.http import (
    BearerTokenMiddleware,
    BodyLimitMiddleware,
    StreamOptions,
    install_problem_handlers,
    jobs_router,
)
from orbit.jobs.http.openapi import describe_contract
from orbit.jobs.http.problem_types import ENGINE_PROBLEMS, ProblemCatalogue, problem_pages_router
from orbit.planning import planning_router
from orbit.planning.problems import PLANNING_PROBLEMS
from orbit.runtime import Runtime
from orbit.settings import Settings

API_PREFIX = "/api/v1"
OPEN_PATHS = frozenset({"/health", f"{API_PREFIX}/health"})


def create_app(settings: Settings, registry: JobRegistry | None = None) -> FastAPI:
    """Build the application for ``settings``.

    The app's own job handlers are always registered; ``registry`` adds more (tests,
    ``--jobs-module``).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Sync routes run in this thread pool. Database calls hold the GIL for most of
        # their work, so more threads than this only queue on the GIL (and, on SQLite,
        # on the single writer) and stretch every request's latency.
        anyio.to_thread.current_default_thread_limiter().total_tokens = settings.http_threads
        runtime = Runtime(settings, extra=registry)
        if settings.migrate_on_start:
            await asyncio.to_thread(runtime.migrate)
        app.state.runtime = runtime
        app.state.client = runtime.client
        app.state.registry = runtime.registry
        app.state.planning = runtime.services
        await runtime.start()  # the change feed: one per process, before anyone subscribes
        worker_task = None
        if settings.embedded_worker:
            worker = runtime.worker()
            app.state.worker = worker
            worker_task = asyncio.create_task(worker.run(), name="orbit-embedded-worker")
        try:
            yield
        finally:
            if worker_task is not None:
                app.state.worker.stop()
                await worker_task
            await runtime.client.hub.close()  # open streams wake, re-read and end
            await runtime.aclose()

    # FastAPI's native OpenTelemetry instrumentation costs a noticeable share of each
    # request even with no exporter; it is on only when asked for (ORBIT_TELEMETRY).
    on = settings.telemetry
    telemetry = TelemetryConfig(tracing=on, metrics=on, logs=on, operation_spans=on)
    app = FastAPI(title="Orbit", version="0.1.0", lifespan=lifespan, telemetry=telemetry)
    app.state.settings = settings
    app.state.event_streams = StreamOptions(
        keepalive_seconds=settings.sse_keepalive_seconds,
        max_streams=settings.max_streams,
        hole_grace_seconds=settings.sse_hole_grace_seconds,
    )

    install_problem_handlers(app)

    @app.get(f"{API_PREFIX}/health", tags=["health"])
    @app.get("/health", tags=["health"], include_in_schema=False)
    def health() -> dict[str, str]:
        return {"status": "ok"}

    app.include_router(jobs_router(), prefix=API_PREFIX)
    app.include_router(planning_router(), prefix=API_PREFIX)
    app.include_router(problem_pages_router(ProblemCatalogue(ENGINE_PROBLEMS + PLANNING_PROBLEMS)))
    _document_contract(app, token_required=bool(settings.api_token))

    # The last middleware added runs first: authenticate, then limit the body.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    token = settings.api_token.get_secret_value() if settings.api_token else ""
    if token:
        app.add_middleware(
            BearerTokenMiddleware,
            token=token,
            protected_prefix=API_PREFIX,
            open_paths=OPEN_PATHS,
            stream_token_seconds=settings.stream_token_seconds,
        )
    mount_web(app, settings)
    return app


def _document_contract(app: FastAPI, *, token_required: bool) -> None:
    """Serve an OpenAPI document that shows problem+json errors, the bearer scheme and 202s."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = describe_contract(
                generate(),
                protected_prefix=API_PREFIX,
                open_paths=OPEN_PATHS,
                token_required=token_required,
            )
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
