"""Periodic jobs from cron expressions, enqueued exactly once per tick across workers.

Every worker whose registry has schedules runs a ``Scheduler``. At each tick it enqueues
the schedule's job with the idempotency key ``cron:<name>:<tick in ISO 8601, UTC>``: the
first worker's insert wins and every other worker's enqueue returns that same job (the
unique key decides, in the database, whatever the number of workers or their clocks'
small skews). Only the latest tick due is enqueued: a schedule missed while no worker ran
fires once when one starts, not once per missed tick.

The key lives as long as its job: keep the retention (``ORBIT_RETENTION_SECONDS``) longer
than the shortest period, or a pruned tick's key could be taken again by a late worker.

Example:
    >>> registry.schedule("nightly-report", "0 3 * * *", "report", {"kind": "daily"})
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import Mapping, Sequence

from orbit.jobs.client import JobClient
from orbit.jobs.clock import Clock
from orbit.jobs.event_wait import wait_set
from orbit.jobs.models import JSON, Job, JobSpec

log = logging.getLogger("orbit.jobs.periodic")

MAX_SLEEP_SECONDS = 60.0
"""The scheduler looks again at least this often (a clock jump is seen within a minute)."""


@dataclasses.dataclass(frozen=True, slots=True)
class Schedule:
    """A job enqueued at every tick of ``cron`` (five fields, UTC)."""

    name: str
    cron: str
    job_type: str
    input_data: Mapping[str, JSON] = dataclasses.field(default_factory=dict)
    queue: str = "default"

    def __post_init__(self) -> None:
        from croniter import croniter  # loaded by the processes that schedule, only

        if not croniter.is_valid(self.cron):
            raise ValueError(f"schedule {self.name!r}: invalid cron expression {self.cron!r}")

    def latest_tick(self, now: dt.datetime) -> dt.datetime:
        """The most recent tick at or before ``now``."""
        # A tick exactly at ``now`` counts: look back from just after it.
        after = now + dt.timedelta(microseconds=1)
        from croniter import croniter

        tick: dt.datetime = croniter(self.cron, after).get_prev(dt.datetime)
        return tick

    def next_tick(self, now: dt.datetime) -> dt.datetime:
        """The first tick after ``now``."""
        from croniter import croniter

        tick: dt.datetime = croniter(self.cron, now).get_next(dt.datetime)
        return tick

    def spec(self, tick: dt.datetime) -> JobSpec:
        """The job of ``tick``, keyed so that it is enqueued once whoever asks."""
        key = f"cron:{self.name}:{tick.astimezone(dt.UTC).isoformat()}"
        return JobSpec(
            self.job_type, self.input_data, queue=self.queue, run_at=tick, idempotency_key=key
        )


class Scheduler:
    """Enqueues due ticks of ``schedules`` through ``client`` (one per worker)."""

    def __init__(self, client: JobClient, schedules: Sequence[Schedule], clock: Clock) -> None:
        self.client = client
        self.schedules = tuple(schedules)
        self.clock = clock

    def enqueue_due(self) -> list[Job]:
        """Enqueue the latest tick of every schedule (a no-op for ticks already enqueued)."""
        now = self.clock.now()
        return [self.client.enqueue_spec(s.spec(s.latest_tick(now))) for s in self.schedules]

    def seconds_to_next_tick(self) -> float:
        """How long until the soonest next tick (at most ``MAX_SLEEP_SECONDS``)."""
        now = self.clock.now()
        soonest = min(s.next_tick(now) for s in self.schedules)
        return max(0.0, min((soonest - now).total_seconds(), MAX_SLEEP_SECONDS))

    async def run(self, stopping: asyncio.Event) -> None:
        """Enqueue due ticks until ``stopping`` is set; errors are logged and retried."""
        while not stopping.is_set():
            try:
                await asyncio.to_thread(self.enqueue_due)
            except Exception:  # the database may be briefly away: try at the next tick
                log.warning("periodic enqueue failed; retrying", exc_info=True)
            pause = self.seconds_to_next_tick() or 0.001
            if not await wait_set(stopping, pause):
                continue
