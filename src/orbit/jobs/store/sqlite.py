"""SQLite: engine setup, write transactions and the change feed's source.

* WAL journal, ``synchronous=NORMAL`` and a generous ``busy_timeout`` so readers never
  block writers and writers queue instead of failing.
* Every write transaction starts with ``BEGIN IMMEDIATE``: it takes the write lock first.
  A deferred transaction that reads and then writes can fail with SQLITE_BUSY_SNAPSHOT,
  which ``busy_timeout`` does not retry; read-only connections keep a plain ``BEGIN``.
* The change feed (``feed.py``) learns of other connections' commits by checking
  ``PRAGMA data_version`` on a dedicated connection; the value changes whenever another
  connection commits, and reading it costs microseconds. It checks every few
  milliseconds, and at once when another process announces a commit
  (``sqlite_wakeups.py``).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import json
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.dialects.sqlite import dialect as sqlite_dialect
from sqlalchemy.engine import Connection, Engine

from orbit.jobs.event_wait import wait_set
from orbit.jobs.models import Job, Lease, Outcome
from orbit.jobs.store.claim import (
    ClaimShape,
    claim_event,
    claim_statement,
    expanded,
    list_lengths,
    spread_lists,
)
from orbit.jobs.store.dialect import READ_ONLY_OPTION, Dialect, Timebase
from orbit.jobs.store.feed import RUNNABLE, Change, ChangeFeed, ChangeKind, FeedSource
from orbit.jobs.store.outcomes import PROGRESS, RECORD, outcome_params, outcome_payload
from orbit.jobs.store.raw import dbapi_connection
from orbit.jobs.store.rows import (
    ENQUEUE_COLUMNS,
    NEW_EVENT_COLUMNS,
    NEW_JOB_COLUMNS,
    event_row,
    new_job,
)
from orbit.jobs.store.sqlite_checkpoints import BACKSTOP_PAGES, Checkpointer
from orbit.jobs.store.sqlite_wakeups import Announcer, Listener, wakeup_directory
from orbit.jobs.store.sqlite_writes import BUSY_TIMEOUT_MS, QueuedWriteConnection, write_lock

POLL_SECONDS = 0.005
OWN_CHANGES_SECONDS = 0.05

log = logging.getLogger("orbit.jobs.sqlite")
_TAIL_BATCH = 10_000


def create_sqlite_engine(url: sa.URL) -> Engine:
    """An engine for a SQLite file, tuned for many concurrent writers."""
    if not url.database or url.database == ":memory:":
        raise ValueError("Orbit needs a SQLite file, e.g. sqlite:///.orbit/orbit.db")
    Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={
            "check_same_thread": False,
            "timeout": BUSY_TIMEOUT_MS / 1000,
            "factory": QueuedWriteConnection,
        },
        pool_size=8,
        max_overflow=24,
    )

    lock = write_lock(url.database)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: QueuedWriteConnection, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # the driver must not BEGIN on its own; we do
        dbapi_conn.orbit_lock = lock
        # busy_timeout only guards reads and schema changes; writes retry themselves.
        for pragma in (
            "journal_mode=WAL",
            "synchronous=NORMAL",
            f"busy_timeout={BUSY_TIMEOUT_MS}",
            "foreign_keys=ON",
            # The store's Checkpointer checkpoints off the committing threads.
            f"wal_autocheckpoint={BACKSTOP_PAGES}",
        ):
            dbapi_conn.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        if conn.get_execution_options().get(READ_ONLY_OPTION, False):
            conn.exec_driver_sql("BEGIN")
            return
        dbapi_conn = conn.connection.dbapi_connection
        assert isinstance(dbapi_conn, QueuedWriteConnection)
        dbapi_conn.begin_immediate()

    return engine


class DataVersionSource(FeedSource):
    """The SQLite change source: one ``PRAGMA data_version`` watcher per store and process.

    ``data_version`` changes when any other connection commits (this process's pooled
    connections too: the watcher has a connection of its own). A check costs microseconds,
    so it runs every ``poll_seconds``, at once when this process's store pokes it (it
    does while anyone follows events) and at once when another process's store announces
    a commit to this watcher's socket (``sqlite_wakeups.py``). On a change it publishes
    ``RUNNABLE`` (a commit may have made work runnable) and, while anyone follows events,
    reads the ids of the new log rows once for all of them.

    A change that this store's own commits explain (it committed since the last check,
    and no other process announced one) publishes ``RUNNABLE`` at most every
    ``OWN_CHANGES_SECONDS``: the store told its subscribers of its own runnable commits
    already, and a job reporting progress would otherwise wake its own worker's claim
    loop at every poll. The check cannot tell such a change from one that a writer who
    does not announce made at the same moment; that writer's jobs wait that long at most.

    Each announced commit also nudges the store's ``Checkpointer``
    (``sqlite_checkpoints.py``), so no commit runs a WAL checkpoint itself.
    """

    needs_pokes = True

    def __init__(self, path: str, poll_seconds: float = POLL_SECONDS) -> None:
        self.path = path
        self.poll_seconds = poll_seconds
        self._poked: asyncio.Event | None = None
        self._own_commits = 0  # this store's commits (counted as it announces them)
        self._heard = False  # another process announced a commit since the last check

    @functools.cached_property
    def _announcer(self) -> Announcer:
        return Announcer(wakeup_directory(self.path))

    @functools.cached_property
    def checkpointer(self) -> Checkpointer:
        return Checkpointer(self.path)

    def poke(self) -> None:
        if self._poked is not None:
            self._poked.set()

    def announce(self) -> None:
        self._own_commits += 1
        self._announcer.announce()
        self.checkpointer.nudge()

    def close(self) -> None:
        if "_announcer" in self.__dict__:
            self._announcer.close()
        if "checkpointer" in self.__dict__:
            self.checkpointer.close()

    def _listen(self, poked: asyncio.Event) -> Listener | None:
        """Bind this watcher's wake-up socket; other processes' commits then set ``poked``."""
        directory = self._announcer.directory
        if directory is None:
            return None
        try:
            listener = Listener(directory)
        except OSError as exc:
            log.warning("no wake-up socket in %s (%s); polling only", directory, exc)
            return None

        def woken() -> None:
            listener.drain()
            self._heard = True
            poked.set()

        asyncio.get_running_loop().add_reader(listener.socket.fileno(), woken)
        self._announcer.own = listener.name
        return listener

    def _unlisten(self, listener: Listener | None) -> None:
        if listener is not None:
            asyncio.get_running_loop().remove_reader(listener.socket.fileno())
            self._announcer.own = None
            listener.close()

    async def run(self, feed: ChangeFeed) -> None:
        conn = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        poked = self._poked = asyncio.Event()
        listener = self._listen(poked)
        try:
            conn.execute("PRAGMA busy_timeout=1000")  # never hold the loop for long
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            last_id = _last_event_id(conn)
            own_seen, runnable_at = self._own_commits, 0.0
            feed.live()
            while True:
                await wait_set(poked, self.poll_seconds)
                poked.clear()
                current = conn.execute("PRAGMA data_version").fetchone()[0]
                if current == version:
                    continue
                version = current
                own = self._own_commits != own_seen and not self._heard
                own_seen, self._heard = self._own_commits, False
                if feed.wants_events:
                    changes, last_id = _tail(conn, last_id)
                else:  # nobody follows the log: skip reading it, but keep the position
                    changes, last_id = [], _last_event_id(conn)
                now = time.monotonic()
                if own and now - runnable_at < OWN_CHANGES_SECONDS:
                    if changes:
                        feed.publish(changes)
                    continue
                # Any commit may have made work runnable (a retry, a requeue, an enqueue).
                runnable_at = now
                feed.publish([RUNNABLE, *changes])
        finally:
            self._unlisten(listener)
            self._poked = None
            conn.close()


def _last_event_id(conn: sqlite3.Connection) -> int:
    return int(conn.execute("SELECT coalesce(max(id), 0) FROM job_events").fetchone()[0])


def _tail(conn: sqlite3.Connection, last_id: int) -> tuple[list[Change], int]:
    """One ``EVENT`` per job whose log grew past ``last_id``, and the new position."""
    changes: list[Change] = []
    seen: set[tuple[str, str | None]] = set()
    while True:
        rows = conn.execute(
            "SELECT e.id, e.job_id, j.project_id FROM job_events AS e "
            "JOIN jobs AS j ON j.id = e.job_id WHERE e.id > ? ORDER BY e.id LIMIT ?",
            (last_id, _TAIL_BATCH),
        ).fetchall()
        if rows:
            last_id = rows[-1][0]
        for _, job_hex, project_hex in rows:
            if (job_hex, project_hex) not in seen:
                seen.add((job_hex, project_hex))
                project = uuid.UUID(project_hex) if project_hex else None
                changes.append(Change(ChangeKind.EVENT, uuid.UUID(job_hex), project))
        if len(rows) < _TAIL_BATCH:
            return changes, last_id


def _insert(table: str, columns: tuple[str, ...]) -> str:
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"


_INSERT_JOB = _insert("jobs", NEW_JOB_COLUMNS)
_ENQUEUE_JOB = _insert("jobs", ENQUEUE_COLUMNS)
_INSERT_EVENT = _insert("job_events", NEW_EVENT_COLUMNS)


@functools.lru_cache(maxsize=64)
def _time_text(value: dt.datetime) -> str:
    # SQLAlchemy's SQLite DATETIME text, "0001-01-01 00:00:00.000000" (the year in four
    # digits, microseconds always: the text is compared as text). A bulk enqueue stamps
    # every row with the same instant: convert it once.
    return value.astimezone(dt.UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _uuid_text(value: uuid.UUID | None) -> str | None:
    return None if value is None else value.hex


def _same(value: Any) -> Any:
    return value


_CONVERT: dict[str, Callable[[Any], Any]] = {
    "id": _uuid_text,
    "job_id": _uuid_text,
    "project_id": _uuid_text,
    "interview_id": _uuid_text,
    "parent_id": _uuid_text,
    "input_data": json.dumps,
    "payload": json.dumps,
    "created_at": _time_text,
    "updated_at": _time_text,
    "run_at": _time_text,
}
_JOB_CONVERTERS = tuple((c, _CONVERT.get(c, _same)) for c in NEW_JOB_COLUMNS)
_EVENT_CONVERTERS = tuple((c, _CONVERT.get(c, _same)) for c in NEW_EVENT_COLUMNS)
_ENQUEUE_CONVERTERS = tuple((c, _CONVERT.get(c, _same)) for c in ENQUEUE_COLUMNS)
_INPUT_DATA = ENQUEUE_COLUMNS.index("input_data")


def _likely(term: sa.ColumnElement[bool]) -> sa.ColumnElement[bool]:
    return sa.func.likely(term)  # untyped: a Boolean would render as "likely(…) = 1"


@functools.lru_cache(maxsize=256)
def _positional(
    statement: sa.sql.ClauseElement, lists: tuple[tuple[str, int], ...] = ()
) -> tuple[str, tuple[str, ...], dict[str, Any]]:
    """A prebuilt statement in SQLite's SQL: its text, its parameters' order, constants.

    ``lists`` gives the length of each expanding parameter (``IN`` a list): ``name`` of
    length 2 becomes the parameters ``name_1`` and ``name_2``.
    """
    state = expanded(statement.compile(dialect=sqlite_dialect()), lists)
    assert state.positiontup is not None
    return state.statement, tuple(state.positiontup), dict(state.parameters)


def _claim_values(params: dict[str, Any]) -> dict[str, Any]:
    """A claim's values (``claim.claim_params``), lists spread, as SQLite stores them."""
    if "c_ids" in params:  # as the Uuid type stores them (a str id fails here, not later)
        params = {**params, "c_ids": [job_id.hex for job_id in params["c_ids"]]}
    values = spread_lists(params)
    for name, value in values.items():
        if isinstance(value, dt.datetime):
            values[name] = _time_text(value)
        elif isinstance(value, uuid.UUID):  # the lease token
            values[name] = value.hex
    return values


def _job_params(row: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(convert(row[column]) for column, convert in _JOB_CONVERTERS)


def _event_params(event: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(convert(event[column]) for column, convert in _EVENT_CONVERTERS)


class SQLiteDialect(Dialect):
    """SQLite behaviour for the shared store."""

    name = "sqlite"

    def may_work_on_loop(self, engine: Engine) -> bool:
        # A local file: only a taken write lock, refused by ``immediate(wait=False)``, or
        # a checkout of the pool could make its work wait; an idle pooled connection is
        # handed out without waiting or opening one.
        pool = engine.pool
        return isinstance(pool, sa.pool.QueuePool) and pool.checkedin() > 0

    def is_unique_violation(self, exc: sa.exc.IntegrityError) -> bool:
        return "UNIQUE constraint failed" in str(exc.orig)

    def insert_job(
        self, engine: Engine, values: dict[str, Any], event: dict[str, Any], wait: bool = True
    ) -> Job:
        # One job per transaction straight through sqlite3, as ``insert_jobs`` does for
        # many: SQLAlchemy's statement building and compiling cost several times the
        # commit. The job returned is built from what was stored, not read back.
        params = tuple(convert(values[column]) for column, convert in _ENQUEUE_CONVERTERS)
        event_params = _event_params(event)
        with dbapi_connection(engine, _ENQUEUE_JOB, params) as conn:
            assert isinstance(conn, QueuedWriteConnection)
            with conn.immediate(wait):
                conn.execute(_ENQUEUE_JOB, params)
                conn.execute(_INSERT_EVENT, event_params)
        return new_job(values, json.loads(params[_INPUT_DATA]))

    def claim(
        self,
        engine: Engine,
        statement: sa.Executable,
        params: dict[str, Any],
        now: dt.datetime,
        wait: bool = True,
    ) -> list[Job]:
        # Straight through sqlite3, as ``record_outcomes``: the claim built once per shape
        # (``store/claim.py``) in SQLite's SQL with its lists spread, the claimed rows
        # decoded by the column types, then every running event in one ``executemany``,
        # in one write transaction.
        sql, names, constants = _positional(statement, list_lengths(params))
        values = {**constants, **_claim_values(params)}
        claim_params = tuple(values[name] for name in names)
        decoder = self.job_rows(engine)
        with dbapi_connection(engine, sql, claim_params) as conn:
            assert isinstance(conn, QueuedWriteConnection)
            with conn.immediate(wait):
                cursor = conn.execute(sql, claim_params)
                rows = cursor.fetchall()
                description = cursor.description if decoder.needs_description else ()
                claimed = [decoder.to_job(row, description) for row in rows]
                if claimed:
                    events = [_event_params(claim_event(job, now)) for job in claimed]
                    conn.executemany(_INSERT_EVENT, events)
        return claimed

    def claim_statement(self, time: Timebase, shape: ClaimShape) -> sa.Executable:
        # ``likely()`` tells SQLite's planner that most rows pass the status and job-type
        # tests, as they do in the partial claim indexes: without statistics it would
        # rather search ``ix_jobs_status`` or ``ix_jobs_job_type`` and sort every pending
        # row on each claim (5,000 pending: 6 ms a claim). A no-op when it runs.
        return claim_statement(time, shape, _likely)

    def write_progress(
        self,
        engine: Engine,
        lease: Lease,
        percent: float | None,
        message: str | None,
        now: dt.datetime,
        wait: bool = True,
    ) -> int | None:
        # Straight through sqlite3, as ``insert_job``: the guarded update, then its event.
        sql, names, constants = _positional(PROGRESS)
        values = {
            **constants,
            "p_id": lease.job_id.hex,
            "p_token": lease.token.hex,
            "p_percent": percent,
            "p_message": message,
            "p_now": _time_text(now),
        }
        params = tuple(values[name] for name in names)
        with dbapi_connection(engine, sql, params) as conn:
            assert isinstance(conn, QueuedWriteConnection)
            with conn.immediate(wait):
                row = conn.execute(sql, params).fetchone()
                if row is not None:
                    payload = {"percent": percent, "message": message}
                    event = event_row(lease.job_id, row[0], "progress", payload, now)
                    conn.execute(_INSERT_EVENT, _event_params(event))
        return None if row is None else int(row[0])

    def record_outcomes(
        self, engine: Engine, outcomes: Sequence[Outcome], now: dt.datetime, wait: bool = True
    ) -> set[uuid.UUID]:
        # Straight through sqlite3, as ``write_progress``: each guarded update, then every
        # status event in one ``executemany``, in one write transaction.
        sql, names, constants = _positional(RECORD)
        stamp = _time_text(now)
        batch = []
        for outcome in outcomes:
            values = {**constants, **outcome_params(outcome, now)}
            values["o_id"] = values["o_id"].hex
            values["o_token"] = values["o_token"].hex
            values["o_result"] = json.dumps(values["o_result"])  # None is JSON null
            values["o_now"] = stamp
            if values["o_completed_at"] is not None:
                values["o_completed_at"] = stamp
            if values["o_run_at"] is not None:
                values["o_run_at"] = _time_text(values["o_run_at"])
            batch.append(tuple(values[name] for name in names))
        lost: set[uuid.UUID] = set()
        events = []
        with dbapi_connection(engine, sql, batch) as conn:
            assert isinstance(conn, QueuedWriteConnection)
            with conn.immediate(wait):
                for outcome, params in zip(outcomes, batch, strict=True):
                    row = conn.execute(sql, params).fetchone()
                    if row is None:
                        lost.add(outcome.lease.job_id)
                        continue
                    payload = outcome_payload(outcome)
                    event = event_row(outcome.lease.job_id, row[0], "status", payload, now)
                    events.append(_event_params(event))
                if events:
                    conn.executemany(_INSERT_EVENT, events)
        return lost

    def insert_jobs(
        self, conn: Connection, rows: list[dict[str, Any]], events: list[dict[str, Any]]
    ) -> None:
        # Bulk enqueue straight through sqlite3: SQLAlchemy's per-row parameter processing
        # costs more than the inserts. Values are stored exactly as the column types store
        # them (Uuid: 32 hex digits; UTCDateTime: naive UTC text; JSON: json.dumps).
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.executemany(_INSERT_JOB, [_job_params(r) for r in rows])
            cursor.executemany(_INSERT_EVENT, [_event_params(e) for e in events])
        finally:
            cursor.close()

    def feed_source(self, engine: Engine) -> FeedSource:
        database = engine.url.database
        assert database is not None
        return DataVersionSource(database)
