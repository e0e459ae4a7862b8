"""``orbit worker``: claim jobs and run their handlers until SIGTERM or SIGINT.

Two modes:

* the Orbit application's worker (default): the app's handlers plus ``--jobs-module``;
  it builds the whole ``Runtime`` (services, AI client, the app's migrations);
* an engine-only worker (``--app package.module:registry``): just that ``JobRegistry`` on
  the engine's store and the engine's own migrations. Nothing of the Orbit application
  is imported, so a project that uses ``orbit.jobs`` as a library gets no foreign tables.

Example:
    $ orbit worker --app myapp.jobs:registry --database-url postgresql://…/myapp
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from typing import TYPE_CHECKING, Annotated

import typer

from orbit.cli.common import (
    CliSettings,
    DatabaseUrl,
    build_settings,
    engine_errors,
    open_checked_store,
)
from orbit.cli.registry import import_registry, load_registry
from orbit.cli.serve import (
    Concurrency,
    GraceSeconds,
    HeartbeatSeconds,
    JobsModule,
    LeaseSeconds,
    Migrate,
)
from orbit.jobs import ConfigurationError, JobRegistry, SQLStore, Worker, WorkerConfig, migrate

if TYPE_CHECKING:  # the application's runtime is imported only when it is run
    from orbit.runtime import Runtime

log = logging.getLogger("orbit.cli")

JobTypes = Annotated[
    list[str] | None,
    typer.Option(
        "--job-type",
        envvar="ORBIT_JOB_TYPES",
        help="Only run these job types (repeatable)",
        show_default="every registered one",
    ),
]
Queues = Annotated[
    list[str] | None,
    typer.Option(
        "--queue",
        envvar="ORBIT_QUEUES",
        help="Only claim from these named queues (repeatable)",
        show_default="every queue",
    ),
]
EngineApp = Annotated[
    str | None,
    typer.Option(
        "--app",
        envvar="ORBIT_WORKER_APP",
        show_default=False,
        help="Run only this JobRegistry (package.module:name), without the Orbit app",
    ),
]


def worker(
    concurrency: Concurrency = None,
    job_types: JobTypes = None,
    database_url: DatabaseUrl = None,
    lease_seconds: LeaseSeconds = None,
    heartbeat_seconds: HeartbeatSeconds = None,
    shutdown_grace_seconds: GraceSeconds = None,
    jobs_module: JobsModule = None,
    migrate_on_start: Migrate = None,
    app: EngineApp = None,
    queues: Queues = None,
) -> None:
    """Run a worker: claim jobs and run their handlers until SIGTERM or SIGINT."""
    settings = build_settings(
        database_url=database_url,
        concurrency=concurrency,
        lease_seconds=lease_seconds,
        heartbeat_seconds=heartbeat_seconds,
        shutdown_grace_seconds=shutdown_grace_seconds,
        jobs_module=jobs_module,
        migrate_on_start=migrate_on_start,
    )
    with engine_errors():
        if app is not None:
            _engine_worker(settings, app, job_types, queues)
            return
        open_checked_store(settings).close()  # a bad URL is a usage error, said early
        from orbit.runtime import Runtime

        runtime = Runtime(settings, extra=load_registry(settings))
        config = _worker_config(settings, runtime.registry, job_types, queues)
        asyncio.run(_run_worker(runtime, config))


def _engine_worker(
    settings: CliSettings, app: str, job_types: list[str] | None, queues: list[str] | None
) -> None:
    if settings.jobs_module:
        raise ConfigurationError("--app runs one registry; --jobs-module adds to the Orbit app's")
    registry = import_registry(app)
    config = _worker_config(settings, registry, job_types, queues)
    store = open_checked_store(settings)
    log.info("engine-only worker for %s: %s", app, ", ".join(registry.names()) or "no job types")
    asyncio.run(_run_engine_worker(store, registry, config, settings.migrate_on_start))


def _worker_config(
    settings: CliSettings,
    registry: JobRegistry,
    job_types: list[str] | None,
    queues: list[str] | None = None,
) -> WorkerConfig:
    config = settings.worker_config()
    if queues:
        config = dataclasses.replace(config, queues=tuple(queues))
    if job_types:
        unknown = sorted(set(job_types) - set(registry.names()))
        if unknown:
            raise ConfigurationError(f"no handler registered for job type(s): {', '.join(unknown)}")
        config = dataclasses.replace(config, job_types=tuple(job_types))
    if not (config.job_types or registry.names()):
        log.warning("no job handlers registered (see --jobs-module); this worker only reaps")
    return config


async def _run_worker(runtime: Runtime, config: WorkerConfig) -> None:
    try:
        if runtime.settings.migrate_on_start:
            await asyncio.to_thread(runtime.migrate)
        runner = runtime.worker(config)
        runner.install_signal_handlers()
        await runner.run()
    finally:
        await runtime.aclose()


async def _run_engine_worker(
    store: SQLStore, registry: JobRegistry, config: WorkerConfig, migrate_on_start: bool
) -> None:
    try:
        if migrate_on_start:  # the engine's tables only: the host owns its other tables
            await asyncio.to_thread(migrate.upgrade, store.engine)
        runner = Worker(store, registry, config)
        runner.install_signal_handlers()
        await runner.run()
    finally:
        await store.feed.close()
        store.close()
