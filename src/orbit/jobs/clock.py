"""Time as a dependency: the engine asks a ``Clock`` instead of reading the wall clock.

A clock is one host's: hosts sharing a PostgreSQL database may disagree by minutes. So on
PostgreSQL the store takes every lease and ``run_at`` comparison from the database's own
clock and uses the host's only for what it displays (``created_at``, ``completed_at``, …);
a delay asked in host time (``run_at`` = host now + 5 s) becomes the same delay in database
time. A *simulated* clock (``ManualClock``, ``simulated = True``) stands for every clock,
the database's included: tests move time for leases and schedules with it on both
databases. SQLite is one host by definition and always uses the injected clock.
"""

from __future__ import annotations

import datetime as dt
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current UTC time."""

    def now(self) -> dt.datetime:
        """Return the current time, timezone-aware, in UTC."""
        ...


def is_simulated(clock: Clock) -> bool:
    """Whether ``clock`` stands for every clock, the database's included (``ManualClock``)."""
    return bool(getattr(clock, "simulated", False))


class SystemClock:
    """The real clock (this host's)."""

    simulated = False

    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)


class ManualClock:
    """A clock that only moves when told to; for tests and simulations.

    It is simulated: the store uses it for leases and ``run_at`` on PostgreSQL too, instead
    of the database's clock.
    """

    simulated = True

    def __init__(self, start: dt.datetime | None = None) -> None:
        self._now = start or dt.datetime(2026, 1, 5, 12, 0, tzinfo=dt.UTC)

    def now(self) -> dt.datetime:
        return self._now

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        self._now += dt.timedelta(seconds=seconds)
