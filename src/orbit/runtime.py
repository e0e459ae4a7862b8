"""One Orbit installation, assembled from ``Settings``: the job store, the app's services,
the registry of job handlers, and the migration histories.

``create_app`` and ``orbit worker`` both build a ``Runtime``, so a web server with its
embedded worker and a standalone worker run exactly the same handlers.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.engine import Engine

from orbit.jobs import JobClient, JobRegistry, SQLStore, Worker, WorkerConfig, open_store
from orbit.jobs.store.migrate import JOBS, Migrations
from orbit.planning import PLANNING, PlanningServices, build_registry
from orbit.settings import Settings

HISTORIES: tuple[Migrations, ...] = (JOBS, PLANNING)
"""Every migration history, in the order they must run."""


def upgrade_all(engine: Engine) -> None:
    """Bring every table of Orbit up to date."""
    for history in HISTORIES:
        history.upgrade(engine)


class Runtime:
    """The store, services, handlers and client of one Orbit installation."""

    def __init__(self, settings: Settings, extra: JobRegistry | None = None) -> None:
        self.settings = settings
        self.store: SQLStore = open_store(settings.database_url)
        self.services = PlanningServices(settings, self.store.engine, self.store.lone_reads)
        self.registry = build_registry(self.services)
        for name in extra or ():
            self.registry.register(extra.get(name))  # type: ignore[union-attr]
        # A finished job holds its idempotency key as long as it is kept, not longer.
        retention = settings.retention_seconds
        key_retention = dt.timedelta(seconds=retention) if retention > 0 else None
        self.client = JobClient(self.store, self.registry, key_retention=key_retention)

    def migrate(self) -> None:
        """Run every migration history."""
        upgrade_all(self.store.engine)

    def worker(self, config: WorkerConfig | None = None) -> Worker:
        """A worker running this installation's handlers."""
        return Worker(self.store, self.registry, config or self.settings.worker_config())

    async def start(self) -> None:
        """Start the store's change feed on the running loop: the process's one watcher
        of the database, shared by the worker, the event streams and parents."""
        await self.store.feed.ensure_started()

    async def aclose(self) -> None:
        """Stop the change feed; release the AI client and every database connection."""
        await self.store.feed.close()
        await self.services.aclose()
        self.store.close()
