"""Shared benchmark plumbing: a fresh database per run on each dialect, and percentiles."""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import tempfile
import uuid
from collections.abc import Iterator

import psycopg
import sqlalchemy as sa

from orbit.jobs import SQLStore, migrate, open_store

PG_SERVER = os.environ.get("ORBIT_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
DIALECTS = ("sqlite", "postgresql")


@contextlib.contextmanager
def fresh_database(dialect: str) -> Iterator[str]:
    """A new, migrated database URL that is dropped afterwards."""
    if dialect == "sqlite":
        with tempfile.TemporaryDirectory(prefix="orbit-bench-") as tmp:
            url = f"sqlite:///{tmp}/bench.db"
            _migrate(url)
            yield url
        return
    name = f"orbit_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(PG_SERVER, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    url = sa.make_url(PG_SERVER).set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url)
        yield url
    finally:
        with psycopg.connect(PG_SERVER, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _migrate(url: str) -> None:
    store = open_store(url)
    migrate.upgrade(store.engine)
    store.close()


@contextlib.contextmanager
def opened(url: str) -> Iterator[SQLStore]:
    store = open_store(url)
    try:
        yield store
    finally:
        store.close()


def percentile(samples: list[float], pct: float) -> float:
    """The ``pct``-th percentile (nearest rank) of ``samples``."""
    ordered = sorted(samples)
    rank = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[rank]


def summary_ms(samples_s: list[float]) -> str:
    """``p50/p95/p99`` in milliseconds."""
    ms = [s * 1000 for s in samples_s]
    return (
        f"p50 {percentile(ms, 50):.2f} ms, p95 {percentile(ms, 95):.2f} ms, "
        f"p99 {percentile(ms, 99):.2f} ms, mean {statistics.fmean(ms):.2f} ms (n={len(ms)})"
    )


def dialect_args(description: str, jobs: int | None = None) -> argparse.Namespace:
    """``--dialect`` (repeatable; both by default), and ``--jobs`` when ``jobs`` is given."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dialect", choices=DIALECTS, action="append")
    if jobs is not None:
        parser.add_argument("--jobs", type=int, default=jobs)
    args = parser.parse_args()
    args.dialects = args.dialect or list(DIALECTS)
    return args
