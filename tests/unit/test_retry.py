"""The backoff policy is pure: same inputs and jitter, same decision."""

from __future__ import annotations

from orbit.jobs import BackoffPolicy


def test_gives_up_when_attempts_are_exhausted() -> None:
    policy = BackoffPolicy(base=1.0, cap=10.0, jitter=lambda: 1.0)
    assert not policy.decide(attempt=3, max_attempts=3).retry
    assert policy.decide(attempt=2, max_attempts=3).retry


def test_delay_grows_exponentially_and_is_capped() -> None:
    policy = BackoffPolicy(base=1.0, cap=10.0, jitter=lambda: 1.0)
    delays = [policy.decide(attempt=n, max_attempts=100).delay for n in range(1, 7)]
    assert delays == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]


def test_full_jitter_scales_the_ceiling() -> None:
    policy = BackoffPolicy(base=4.0, cap=100.0, jitter=lambda: 0.25)
    assert policy.decide(attempt=2, max_attempts=5).delay == 2.0


def test_explicit_after_overrides_backoff_but_not_exhaustion() -> None:
    policy = BackoffPolicy(jitter=lambda: 1.0)
    assert policy.decide(attempt=1, max_attempts=3, after=7.5).delay == 7.5
    assert not policy.decide(attempt=3, max_attempts=3, after=7.5).retry
