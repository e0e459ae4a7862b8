"""The lease keeper: heartbeats and cancel checks, on a thread of its own.

It runs beside the handlers rather than on the event loop, so a handler that blocks the
loop (CPU-bound code, a sync call in an async handler) cannot starve the heartbeat and
lose its lease. Every ``tick`` it asks the store which running jobs a client wants
cancelled; every ``heartbeat_seconds`` it extends the leases still held and reports any
that were lost (taken over after expiry, or finished elsewhere). A heartbeat that fails
(the database briefly away) is tried again at the next tick, not a whole interval later,
and ``held_until`` says until when each lease is known to hold: the outcome flusher keeps
retrying a finished job's write until then.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
import uuid
from collections.abc import Callable, Sequence

from orbit.jobs.models import Lease
from orbit.jobs.store import SQLStore
from orbit.jobs.store.outcomes import describe_error

log = logging.getLogger("orbit.jobs.worker")


class LeaseKeeper:
    """Keeps the leases of one worker's running jobs alive."""

    def __init__(
        self,
        store: SQLStore,
        leases: Callable[[], Sequence[Lease]],
        on_cancel: Callable[[uuid.UUID], None],
        on_lost: Callable[[uuid.UUID], None],
        *,
        lease_seconds: float,
        heartbeat_seconds: float,
        tick_seconds: float,
    ) -> None:
        self._store = store
        self._leases = leases
        self._on_cancel = on_cancel
        self._on_lost = on_lost
        self._lease_seconds = lease_seconds
        self._heartbeat_seconds = heartbeat_seconds
        self._tick = min(tick_seconds, heartbeat_seconds)
        self.held_until: dict[uuid.UUID, dt.datetime] = {}
        """The expiry of each lease as of its last successful heartbeat (store clock)."""
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="orbit-lease-keeper", daemon=True)

    def start(self) -> None:
        """Start the keeper thread."""
        self._thread.start()

    def stop(self) -> None:
        """Stop the keeper thread and wait for it."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _run(self) -> None:
        next_heartbeat = time.monotonic() + self._heartbeat_seconds
        failing = False
        while not self._stop.wait(self._tick):
            leases = list(self._leases())
            self._forget(leases)
            if not leases:
                next_heartbeat = time.monotonic() + self._heartbeat_seconds
                continue
            try:
                if time.monotonic() >= next_heartbeat:
                    self._heartbeat(leases)
                    next_heartbeat = time.monotonic() + self._heartbeat_seconds
                else:
                    for job_id in self._store.cancel_requested([x.job_id for x in leases]):
                        self._on_cancel(job_id)
                failing = False
            except Exception as exc:  # the database may be briefly away; the lease has slack
                if not failing:  # once per outage, not once per tick
                    log.warning(
                        "heartbeat failed; trying again every %.1fs: %s",
                        self._tick,
                        describe_error(exc),
                    )
                failing = True

    def _forget(self, leases: list[Lease]) -> None:
        for job_id in set(self.held_until) - {lease.job_id for lease in leases}:
            self.held_until.pop(job_id, None)

    def _heartbeat(self, leases: list[Lease]) -> None:
        # Read before the write: the store's expiry is at least this late.
        expires = self._store.clock.now() + dt.timedelta(seconds=self._lease_seconds)
        held = self._store.heartbeat(leases, self._lease_seconds)
        for lease in leases:
            if lease.job_id not in held:
                self.held_until.pop(lease.job_id, None)
                self._on_lost(lease.job_id)
                continue
            self.held_until[lease.job_id] = expires
            if held[lease.job_id]:
                self._on_cancel(lease.job_id)
