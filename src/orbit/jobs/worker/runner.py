"""The worker: claims jobs as slots free up, runs them, and records how they ended.

One asyncio loop per process. The claim loop takes as many jobs as there are free slots
in one atomic statement, then sleeps until the store's change feed says jobs became
runnable (``store/feed.py``: one LISTEN connection or data_version watcher per process,
plus this process's own commits) rather than polling. Outcomes are queued and
written in batches by a single flusher, so a burst of short jobs costs one transaction
per batch, not per job; a slot is freed only once its outcome is durable.

A finished job keeps its lease until then: the lease keeper heartbeats every job this
worker holds, finished or not, and the flusher retries a failed write for as long as the
lease is known to hold (``LeaseKeeper.held_until``). Only then is the outcome given up:
the reaper puts the job back. When the database refuses a batch for what one outcome
holds, the batch is written one outcome at a time and only that job fails, with the
database's reason.

Example:
    >>> worker = Worker(store, registry, WorkerConfig(concurrency=4))
    >>> asyncio.run(worker.run())          # until worker.stop() or SIGTERM
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import datetime as dt
import functools
import logging
import os
import signal
import socket
import uuid
from collections.abc import Callable

from orbit.jobs.client import JobClient
from orbit.jobs.event_wait import wait_set
from orbit.jobs.models import Job, Lease, Outcome
from orbit.jobs.nonblocking import without_blocking
from orbit.jobs.states import JobStatus
from orbit.jobs.store import SQLStore
from orbit.jobs.store.feed import ChangeKind, FeedSignal
from orbit.jobs.store.outcomes import describe_error
from orbit.jobs.worker import execution as ex
from orbit.jobs.worker.context import JobContext, SyncJobContext
from orbit.jobs.worker.keeper import LeaseKeeper
from orbit.jobs.worker.outcome_writes import write_outcomes
from orbit.jobs.worker.periodic import Scheduler
from orbit.jobs.worker.reaper import Reaper
from orbit.jobs.worker.registry import JobRegistry

log = logging.getLogger("orbit.jobs.worker")

FLUSH_RETRY_SECONDS = (0.1, 0.5, 1.0, 2.0)
"""Pauses between tries of a failed outcome write (the last repeats; never longer than
the heartbeat interval, so a write lands soon after the database is back)."""

_Finished = tuple[Outcome | None, uuid.UUID]


@dataclasses.dataclass(frozen=True)
class WorkerConfig:
    """How a worker runs; every field has an ``ORBIT_*`` setting in the app."""

    concurrency: int = 10
    lease_seconds: float = 30.0
    heartbeat_seconds: float = 10.0
    cancel_poll_seconds: float = 0.5
    poll_seconds: float = 1.0
    reap_seconds: float = 5.0
    retention_seconds: float = 86_400.0
    prune_batch_size: int = 1000
    """Finished jobs deleted per prune transaction."""
    shutdown_grace_seconds: float = 30.0
    job_types: tuple[str, ...] | None = None
    queues: tuple[str, ...] | None = None
    """The named queues this worker claims from (``None``: every queue)."""


def default_worker_id() -> str:
    """``host:pid:random`` — unique per worker, readable in ``jobs.worker_id``."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class Worker:
    """Runs registered job handlers for jobs in ``store``."""

    def __init__(
        self,
        store: SQLStore,
        registry: JobRegistry,
        config: WorkerConfig | None = None,
        worker_id: str | None = None,
    ) -> None:
        self.store = store
        self.registry = registry
        self.client = JobClient(store, registry)  # what handlers' contexts go through
        self.config = config or WorkerConfig()
        self.worker_id = worker_id or default_worker_id()
        self._running: dict[uuid.UUID, ex.Execution] = {}
        self._outcomes: list[_Finished] = []
        self._keeper: LeaseKeeper | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = asyncio.Event()
        self._slot_freed = asyncio.Event()
        self._outcome_ready = asyncio.Event()
        self._threads = concurrent.futures.ThreadPoolExecutor(
            max_workers=self.config.concurrency, thread_name_prefix="orbit-job"
        )
        self.started = asyncio.Event()

    # -- public -----------------------------------------------------------------------------

    @property
    def running(self) -> int:
        """How many jobs this worker is running now."""
        return len(self._running)

    def stop(self) -> None:
        """Ask the worker to finish: no new claims; running jobs get the grace period."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stopping.set)
        else:
            self._stopping.set()

    def install_signal_handlers(self) -> None:
        """Stop gracefully on SIGTERM and SIGINT (call from inside the running loop)."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop)

    async def run(self) -> None:
        """Claim and run jobs until ``stop()``; then drain gracefully and return."""
        self._loop = asyncio.get_running_loop()
        config = self.config
        feed = self.store.feed
        owns_feed = not feed.running  # the application's lifespan may have started it
        wakeup = feed.signal({ChangeKind.RUNNABLE})
        # The first claim does not wait for the source to connect: ``live()`` publishes
        # RUNNABLE to ``wakeup``, so whatever was enqueued before then is claimed anyway.
        await feed.start()
        keeper = LeaseKeeper(
            self.store,
            self._leases,
            self._threadsafe(self._interrupt, "cancel"),
            self._threadsafe(self._interrupt, "lost"),
            lease_seconds=config.lease_seconds,
            heartbeat_seconds=config.heartbeat_seconds,
            tick_seconds=config.cancel_poll_seconds,
        )
        self._keeper = keeper
        reaper = Reaper(
            self.store,
            interval_seconds=config.reap_seconds,
            retention_seconds=config.retention_seconds,
            prune_batch_size=config.prune_batch_size,
        )
        keeper.start()
        flusher = asyncio.create_task(self._flush_forever(), name="orbit-flusher")
        reaping = asyncio.create_task(reaper.run(self._stopping), name="orbit-reaper")
        stop_waiter = asyncio.create_task(self._wake_on_stop(wakeup))
        background = [flusher, reaping, stop_waiter, *self._start_scheduler()]
        log.info("worker %s started: concurrency=%d", self.worker_id, config.concurrency)
        self.started.set()
        try:
            await self._claim_loop(wakeup)
            await self._drain()
        finally:
            keeper.stop()
            for task in background:
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            wakeup.close()
            if owns_feed:
                await feed.close()
            self._threads.shutdown(wait=False, cancel_futures=True)
            log.info("worker %s stopped", self.worker_id)

    def _start_scheduler(self) -> list[asyncio.Task[None]]:
        schedules = self.registry.schedules
        if not schedules:
            return []
        scheduler = Scheduler(self.client, schedules, self.store.clock)
        return [asyncio.create_task(scheduler.run(self._stopping), name="orbit-scheduler")]

    # -- claiming ---------------------------------------------------------------------------

    def _job_types(self) -> list[str]:
        return list(self.config.job_types) if self.config.job_types else self.registry.names()

    async def _claim_loop(self, wakeup: FeedSignal) -> None:
        while not self._stopping.is_set():
            free = self.config.concurrency - len(self._running)
            if free <= 0:
                self._slot_freed.clear()
                await self._slot_freed.wait()
                continue
            try:
                claimed = await without_blocking(self.store, functools.partial(self._claim, free))
            except Exception:
                log.warning("claim failed; retrying", exc_info=True)
                await wakeup.wait(self.config.poll_seconds)
                continue
            for job in claimed:
                self._start(job)
            if len(claimed) < free:
                # The poll covers scheduled retries (run_at in the future) and lost hints.
                await wakeup.wait(self.config.poll_seconds)

    def _claim(self, free: int, wait: bool) -> list[Job]:
        # On SQLite with its write lock free, at once on the loop: the claim commits in
        # about 0.1 ms, and a hop to a thread and back costs more (``nonblocking.py``).
        return self.store.claim(
            self.worker_id,
            self._job_types(),
            free,
            self.config.lease_seconds,
            queues=self.config.queues,
            wait=wait,
        )

    async def _wake_on_stop(self, wakeup: FeedSignal) -> None:
        await self._stopping.wait()
        wakeup.notify()
        self._slot_freed.set()

    # -- running ----------------------------------------------------------------------------

    def _start(self, job: Job) -> None:
        definition = self.registry.get(job.job_type)
        context_type = JobContext if definition.is_async else SyncJobContext
        execution = ex.Execution(job, definition, context_type(job, self.store, self.client))
        self._running[job.id] = execution
        timeout = job.timeout_seconds or definition.timeout_seconds
        if timeout:
            assert self._loop is not None
            self._loop.call_later(timeout, execution.interrupt, "timeout")
        task = asyncio.create_task(self._execute(execution), name=f"orbit-job-{job.id}")
        self._tasks.add(task)  # the loop keeps only weak references to tasks
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, execution: ex.Execution) -> None:
        try:
            outcome = await ex.run(
                execution, self._threads, self.store.clock.now, self.store.unavailable
            )
        except Exception:  # a bug in the worker itself: let the lease expire and reclaim
            log.exception("job %s: worker error", execution.job.id)
            outcome = None
            execution.finished = True
        if outcome is None:
            log.warning("job %s: lease lost; result dropped", execution.job.id)
        self._outcomes.append((outcome, execution.job.id))
        self._outcome_ready.set()

    def _leases(self) -> list[Lease]:
        # Finished jobs too: a job keeps its lease until its outcome is stored.
        return [e.job.lease for e in list(self._running.values())]

    def _lease_expiry(self, job_id: uuid.UUID) -> dt.datetime | None:
        """Until when this worker knows ``job_id``'s lease holds (``None``: it does not)."""
        held = self._keeper.held_until.get(job_id) if self._keeper is not None else None
        execution = self._running.get(job_id)
        claimed = execution.job.lease_expires_at if execution is not None else None
        candidates = [t for t in (held, claimed) if t is not None]
        return max(candidates) if candidates else None

    def _interrupt(self, reason: str, job_id: uuid.UUID) -> None:
        execution = self._running.get(job_id)
        if execution is not None and not execution.finished:
            log.info("job %s: interrupt (%s)", job_id, reason)
            execution.interrupt(reason)

    def _threadsafe(
        self, method: Callable[[str, uuid.UUID], None], reason: str
    ) -> Callable[[uuid.UUID], None]:
        def call(job_id: uuid.UUID) -> None:
            if self._loop is not None and not self._loop.is_closed():
                self._loop.call_soon_threadsafe(method, reason, job_id)

        return call

    # -- recording outcomes -----------------------------------------------------------------

    async def _flush_forever(self) -> None:
        while True:
            await self._outcome_ready.wait()
            self._outcome_ready.clear()
            await self._flush()

    def _take(self) -> list[_Finished]:
        batch, self._outcomes = self._outcomes, []
        return batch

    async def _flush(self) -> None:
        batch = self._take()
        tries = 0
        while batch:
            outcomes = [o for o, _ in batch if o is not None]
            try:
                lost, unwritten = await write_outcomes(self.store, outcomes)
            except Exception as exc:
                lost, unwritten = set(), outcomes
                log.warning(
                    "recording %d outcomes failed (try %d): %s",
                    len(outcomes),
                    tries + 1,
                    describe_error(exc),
                )
            waiting = {o.lease.job_id for o in unwritten}
            self._release([f for f in batch if f[0] is None or f[1] not in waiting], lost)
            if not unwritten:
                return
            pause = FLUSH_RETRY_SECONDS[min(tries, len(FLUSH_RETRY_SECONDS) - 1)]
            await asyncio.sleep(min(pause, self.config.heartbeat_seconds))
            tries += 1
            now = self.store.clock.now()
            expired = {
                job_id
                for job_id in waiting
                if (until := self._lease_expiry(job_id)) is None or until <= now
            }
            for job_id in expired:
                log.warning("job %s: lease expired before its outcome was stored", job_id)
            self._release([f for f in batch if f[1] in expired], expired)
            # Jobs that finished meanwhile join the next try.
            batch = [f for f in batch if f[1] in waiting - expired] + self._take()

    def _release(self, finished: list[_Finished], lost: set[uuid.UUID]) -> None:
        """Free the slots of jobs whose outcome is stored (or given up)."""
        for outcome, job_id in finished:
            if outcome is not None:
                verb = _VERBS[outcome.status]
                if job_id in lost:
                    log.warning("job %s: lease lost; %s rejected", job_id, verb)
                else:
                    log.debug("job %s: %s", job_id, verb)
            self._running.pop(job_id, None)
        if finished:
            self._slot_freed.set()

    async def _drain(self) -> None:
        grace = self.config.shutdown_grace_seconds
        deadline = asyncio.get_running_loop().time() + grace
        while self._running and asyncio.get_running_loop().time() < deadline:
            self._slot_freed.clear()
            await wait_set(self._slot_freed, 0.1)
        for execution in list(self._running.values()):
            execution.interrupt("shutdown")
        while self._running:
            self._slot_freed.clear()
            await wait_set(self._slot_freed, 0.1)


_VERBS = {
    JobStatus.COMPLETED: "complete",
    JobStatus.FAILED: "fail",
    JobStatus.PENDING: "retry",
    JobStatus.CANCELLED: "cancel",
    JobStatus.RUNNING: "heartbeat",
}
