"""Writing a batch of outcomes so that one the database refuses fails only its own job.

The flusher (``runner.py``) hands every finished job since its last write to
``write_outcomes``: one transaction for the batch. When the database refuses the batch
for what it holds (``store.outcomes.unstorable``: a data or integrity error, a value the
driver cannot encode), the outcomes are written one at a time, and the one refused is
replaced by a failure that says why. Any other error (the database away) leaves the
rest to the flusher's next try.
"""

from __future__ import annotations

import functools
import logging
import uuid

from orbit.jobs.models import Outcome
from orbit.jobs.nonblocking import without_blocking
from orbit.jobs.states import JobStatus
from orbit.jobs.storable import storable_text
from orbit.jobs.store import SQLStore
from orbit.jobs.store.outcomes import describe_error, unstorable

log = logging.getLogger("orbit.jobs.worker")


async def write_outcomes(
    store: SQLStore, outcomes: list[Outcome]
) -> tuple[set[uuid.UUID], list[Outcome]]:
    """Store ``outcomes``: the ids whose lease was lost, and the outcomes not written yet.

    Raises what the batch write raised when nothing was written and the error may pass.
    """
    try:
        return await _record(store, outcomes), []
    except Exception as exc:
        if not unstorable(exc):
            raise
        log.warning(
            "the database refused a batch of %d outcomes (%s); writing them one by one",
            len(outcomes),
            describe_error(exc),
        )
    lost: set[uuid.UUID] = set()
    for index, outcome in enumerate(outcomes):
        try:
            lost |= await _write_one(store, outcome)
        except Exception as exc:
            log.warning("recording an outcome failed: %s", describe_error(exc))
            return lost, outcomes[index:]
    return lost, []


async def _record(store: SQLStore, outcomes: list[Outcome]) -> set[uuid.UUID]:
    # On SQLite with its write lock free, at once on the loop (``nonblocking.py``).
    return await without_blocking(store, functools.partial(_stored, store, outcomes))


def _stored(store: SQLStore, outcomes: list[Outcome], wait: bool) -> set[uuid.UUID]:
    return store.record(outcomes, wait=wait)


async def _write_one(store: SQLStore, outcome: Outcome) -> set[uuid.UUID]:
    try:
        return await _record(store, [outcome])
    except Exception as exc:
        if not unstorable(exc):
            raise
        reason = storable_text(describe_error(exc))
    log.warning("job %s: its outcome cannot be stored: %s", outcome.lease.job_id, reason)
    failure = Outcome(
        outcome.lease, JobStatus.FAILED, error=f"the job's outcome could not be stored: {reason}"
    )
    return await _record(store, [failure])
