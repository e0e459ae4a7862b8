"""Retry policy: pure functions that decide whether and when to run a failed job again.

Nothing here sleeps or reads the clock; the worker applies the decision.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable


@dataclasses.dataclass(frozen=True, slots=True)
class RetryDecision:
    """Run again after ``delay`` seconds, or give up (``retry`` is False)."""

    retry: bool
    delay: float = 0.0


@dataclasses.dataclass(frozen=True, slots=True)
class BackoffPolicy:
    """Exponential backoff with full jitter, capped.

    The n-th attempt that failed waits a random time in ``[0, min(cap, base * 2**(n-1))]``,
    never less than ``minimum``.

    Example:
        >>> BackoffPolicy(base=1.0, cap=60.0).decide(attempt=1, max_attempts=3).retry
        True
    """

    base: float = 2.0
    cap: float = 300.0
    minimum: float = 0.0
    jitter: Callable[[], float] = random.random

    def decide(self, attempt: int, max_attempts: int, after: float | None = None) -> RetryDecision:
        """Decide for a job whose ``attempt``-th run failed; ``after`` overrides the delay."""
        if attempt >= max_attempts:
            return RetryDecision(retry=False)
        if after is not None:
            return RetryDecision(retry=True, delay=max(0.0, after))
        ceiling = min(self.cap, self.base * 2 ** max(0, attempt - 1))
        return RetryDecision(retry=True, delay=max(self.minimum, ceiling * self.jitter()))
