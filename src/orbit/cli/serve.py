"""``orbit serve``: the HTTP API, with an embedded worker by default.

API servers and workers scale apart: run ``orbit serve --no-worker`` behind a load
balancer and as many ``orbit worker`` processes (``worker.py``) as the jobs need. Both
stop gracefully on SIGTERM or SIGINT: no new claims, running jobs get the shutdown grace
period. The option types here are shared with ``orbit worker``.
"""

from __future__ import annotations

import contextlib
import logging
import math
import signal
from collections.abc import Iterator
from types import FrameType
from typing import Annotated

import typer

from orbit.cli.common import DatabaseUrl, build_settings, engine_errors
from orbit.cli.registry import load_registry
from orbit.jobs import parse_url

log = logging.getLogger("orbit.cli")

Host = Annotated[
    str | None,
    typer.Option("--host", envvar="ORBIT_HOST", help="Interface to bind", show_default="127.0.0.1"),
]
Port = Annotated[
    int | None,
    typer.Option("--port", envvar="ORBIT_PORT", min=0, max=65535, help="Port", show_default="8000"),
]
EmbeddedWorker = Annotated[
    bool | None,
    typer.Option(
        "--worker/--no-worker",
        envvar="ORBIT_EMBEDDED_WORKER",
        help="Run a worker inside the server",
        show_default="on",
    ),
]
Migrate = Annotated[
    bool | None,
    typer.Option(
        "--migrate/--no-migrate",
        envvar="ORBIT_MIGRATE_ON_START",
        help="Upgrade the schema on start",
        show_default="on",
    ),
]
Concurrency = Annotated[
    int | None,
    typer.Option(
        "--concurrency",
        envvar="ORBIT_CONCURRENCY",
        min=1,
        help="Jobs run at once per worker",
        show_default="10",
    ),
]
LeaseSeconds = Annotated[
    float | None,
    typer.Option(
        "--lease-seconds",
        envvar="ORBIT_LEASE_SECONDS",
        min=0.001,
        help="How long a claim lasts without a heartbeat",
        show_default="30",
    ),
]
HeartbeatSeconds = Annotated[
    float | None,
    typer.Option(
        "--heartbeat-seconds",
        envvar="ORBIT_HEARTBEAT_SECONDS",
        min=0.001,
        help="How often running jobs' leases are extended",
        show_default="10",
    ),
]
GraceSeconds = Annotated[
    float | None,
    typer.Option(
        "--shutdown-grace-seconds",
        envvar="ORBIT_SHUTDOWN_GRACE_SECONDS",
        min=0,
        help="How long running jobs may finish after SIGTERM",
        show_default="30",
    ),
]
JobsModule = Annotated[
    str | None,
    typer.Option(
        "--jobs-module",
        envvar="ORBIT_JOBS_MODULE",
        show_default=False,
        help="Extra job handlers: an importable JobRegistry, package.module:name",
    ),
]


def serve(
    host: Host = None,
    port: Port = None,
    embedded_worker: EmbeddedWorker = None,
    migrate_on_start: Migrate = None,
    database_url: DatabaseUrl = None,
    concurrency: Concurrency = None,
    lease_seconds: LeaseSeconds = None,
    heartbeat_seconds: HeartbeatSeconds = None,
    shutdown_grace_seconds: GraceSeconds = None,
    jobs_module: JobsModule = None,
) -> None:
    """Run the HTTP API (and, unless --no-worker, a worker in the same process)."""
    settings = build_settings(
        host=host,
        port=port,
        embedded_worker=embedded_worker,
        migrate_on_start=migrate_on_start,
        database_url=database_url,
        concurrency=concurrency,
        lease_seconds=lease_seconds,
        heartbeat_seconds=heartbeat_seconds,
        shutdown_grace_seconds=shutdown_grace_seconds,
        jobs_module=jobs_module,
    )
    with engine_errors():
        parse_url(settings.database_url)
        registry = load_registry(settings)
    import uvicorn

    from orbit.api.app import create_app

    app = create_app(settings, registry)
    log.info(
        "serving on http://%s:%d (embedded worker: %s)",
        settings.host,
        settings.port,
        "on" if settings.embedded_worker else "off",
    )
    with _exit_cleanly_on_signals():
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            log_config=None,
            timeout_graceful_shutdown=math.ceil(settings.shutdown_grace_seconds),
        )


@contextlib.contextmanager
def _exit_cleanly_on_signals() -> Iterator[None]:
    """uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal for the
    previous handler; this handler makes that a clean exit (status 0)."""

    def stopped(signum: int, _frame: FrameType | None) -> None:
        log.info("stopped by %s", signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stopped) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
