"""The reaper: every worker runs one. It reclaims jobs whose lease expired and prunes
finished jobs past the retention period.

Reclaiming is idempotent and safe to run on every worker at once: each update only
matches rows that are still expired, so two reapers never move the same job twice.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

from orbit.jobs.event_wait import wait_set
from orbit.jobs.store import SQLStore

log = logging.getLogger("orbit.jobs.reaper")


class Reaper:
    """Periodic ``reclaim`` and ``prune`` for one worker."""

    def __init__(
        self,
        store: SQLStore,
        *,
        interval_seconds: float,
        retention_seconds: float,
        prune_interval_seconds: float = 60.0,
        prune_batch_size: int = 1000,
    ) -> None:
        self._store = store
        self._interval = interval_seconds
        self._retention = retention_seconds
        self._prune_interval = prune_interval_seconds
        self._next_prune = 0.0
        self._prune_batch = prune_batch_size

    async def run(self, stopping: asyncio.Event) -> None:
        """Run passes until ``stopping`` is set."""
        while not stopping.is_set():
            try:
                await self.run_once()
            except Exception:  # keep reaping through transient database errors
                log.warning("reaper pass failed", exc_info=True)
            await wait_set(stopping, self._interval)

    async def run_once(self) -> None:
        """One pass: reclaim expired leases, and prune when it is due."""
        report = await asyncio.to_thread(self._store.reclaim_expired)
        if report.total:
            log.warning(
                "reclaim: requeued=%d failed=%d cancelled=%d",
                len(report.requeued),
                len(report.failed),
                len(report.cancelled),
            )
        if self._retention > 0 and time.monotonic() >= self._next_prune:
            self._next_prune = time.monotonic() + self._prune_interval
            older = dt.timedelta(seconds=self._retention)
            pruned = await asyncio.to_thread(self._store.prune, older, batch_size=self._prune_batch)
            if pruned:
                log.info("prune: deleted %d finished jobs", pruned)
