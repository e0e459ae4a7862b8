"""PostgreSQL: engine setup, single-statement writes with NOTIFY, and the feed's source.

The claim itself is the shared statement in ``sql.py`` (``FOR UPDATE SKIP LOCKED`` renders
only here). NOTIFY is sent inside the transaction that wrote, so listeners are woken only
after commit; it is a hint, the tables stay the truth.

One channel, ``orbit_changes``, with typed payloads read by ``ListenSource`` (the change
feed's one ``LISTEN`` connection per process, see ``feed.py``): ``r`` when jobs became
runnable, ``e <job_id> <project_id>`` when a job's log grew (the project part empty for
jobs without one). Every statement that appends events sends the latter itself, in the
same statement, so it costs no extra round trip and fires only if the write commits.
PostgreSQL folds identical notifications of one transaction into one.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence
from typing import Any

import psycopg
import sqlalchemy as sa
from psycopg.types.json import Jsonb
from sqlalchemy.engine import Connection, Engine

from orbit.jobs.clock import Clock, is_simulated
from orbit.jobs.models import Job, Lease, Outcome
from orbit.jobs.states import JobStatus
from orbit.jobs.store.claim import (
    ClaimShape,
    claim_statement,
    expanded,
    list_lengths,
    spread_lists,
)
from orbit.jobs.store.dialect import Dialect, Timebase
from orbit.jobs.store.feed import RUNNABLE, Change, ChangeFeed, ChangeKind, FeedSource
from orbit.jobs.store.guards import held_sql
from orbit.jobs.store.outcomes import outcome_params, outcome_payload
from orbit.jobs.store.postgres_liveness import check_on_checkout
from orbit.jobs.store.raw import pooled_cursor
from orbit.jobs.store.rows import (
    JOB_COLUMNS,
    NEW_EVENT_COLUMNS,
    NEW_JOB_COLUMNS,
)
from orbit.jobs.store.schema import UTCDateTime, job_events

CHANNEL = "orbit_changes"
RUNNABLE_TAG = "r"
EVENT_TAG = "e"

log = logging.getLogger("orbit.jobs.postgres")


def create_postgres_engine(url: sa.URL) -> Engine:
    """An engine on psycopg 3 for a PostgreSQL URL."""
    # After a server restart every pooled connection is dead; each checkout looks at its
    # connection's socket first (no round trip, ``postgres_liveness.py``) and reconnects,
    # instead of failing one request per pooled connection.
    engine = sa.create_engine(
        url.set(drivername="postgresql+psycopg"), pool_size=10, max_overflow=20
    )
    check_on_checkout(engine)
    return engine


def libpq_conninfo(engine: Engine) -> str:
    """The engine's URL in the form libpq accepts."""
    return engine.url.set(drivername="postgresql").render_as_string(hide_password=False)


class DatabaseTime(Timebase):
    """Leases and ``run_at`` on the database's clock: hosts' clocks may disagree by minutes,
    the database has one. ``now()`` is the transaction's start, a moment before the write.

    A moment a host gives in its own time keeps its distance from that host's now:
    ``when + (now() - host_now)``; a 5 s backoff asked on a host 10 minutes fast is 5 s.
    """

    database_clock = True

    def now(self, host_now: dt.datetime) -> Any:
        return sa.func.now(type_=UTCDateTime())

    def after(self, host_now: dt.datetime, seconds: float) -> Any:
        return sa.func.now(type_=UTCDateTime()) + sa.literal(
            dt.timedelta(seconds=seconds), sa.Interval()
        )

    def moment(self, when: dt.datetime, host_now: dt.datetime) -> Any:
        return sa.literal(when, UTCDateTime()) + (
            sa.func.now(type_=UTCDateTime()) - sa.literal(host_now, UTCDateTime())
        )


# In raw statements: the shift from host time to database time (none with a simulated clock).
_SHIFT = "CASE WHEN :db_clock THEN now() - CAST(:now AS timestamptz) ELSE interval '0' END"


class ListenSource(FeedSource):
    """The PostgreSQL change source: one ``LISTEN`` connection per store and process."""

    def __init__(self, conninfo: str) -> None:
        self.conninfo = conninfo

    async def run(self, feed: ChangeFeed) -> None:
        async with await psycopg.AsyncConnection.connect(self.conninfo, autocommit=True) as conn:
            await conn.execute(f"LISTEN {CHANNEL}")
            feed.live()
            async for notify in conn.notifies():
                payload = notify.payload
                if payload[:1] == EVENT_TAG and not feed.wants_events:
                    continue  # most traffic is log growth; a worker alone needs none of it
                change = parse_payload(payload)
                if change is not None:
                    feed.publish([change])


def parse_payload(payload: str) -> Change | None:
    """The change a notification on ``CHANNEL`` announces (None when malformed)."""
    kind, _, rest = payload.partition(" ")
    if kind == RUNNABLE_TAG:
        return RUNNABLE
    job_part, _, project_part = rest.partition(" ")
    try:
        job_id = uuid.UUID(job_part) if job_part else None
        project_id = uuid.UUID(project_part) if project_part else None
    except ValueError:
        job_id = project_id = None
        kind = "?"
    if kind != EVENT_TAG:
        log.warning("ignoring malformed %s payload %r", CHANNEL, payload)
        return None
    return Change(ChangeKind.EVENT, job_id, project_id)


def _payload(alias: str) -> str:
    """The ``EVENT`` payload of the job row ``alias``: ``'e <job_id> <project_id>'``."""
    return f"'{EVENT_TAG} ' || {alias}.id::text || ' ' || coalesce({alias}.project_id::text, '')"


# One round trip records a whole batch: unnest the outcomes, update the rows still held
# under their lease tokens, and append a status event for exactly the rows updated.
RECORD_BATCH = sa.text(f"""
WITH o AS (
    SELECT * FROM unnest(
        CAST(:ids AS uuid[]), CAST(:tokens AS uuid[]), CAST(:statuses AS text[]),
        CAST(:results AS text[]), CAST(:errors AS text[]), CAST(:run_ats AS timestamptz[]),
        CAST(:given_back AS integer[]), CAST(:payloads AS text[]), CAST(:codes AS text[])
    ) AS o(id, token, status, result, error, run_at, given_back, payload, error_code)
), u AS (
    UPDATE jobs AS j SET
        status = o.status,
        result = CASE WHEN o.status = 'pending' THEN NULL ELSE CAST(o.result AS jsonb) END,
        error = o.error,
        error_code = o.error_code,
        completed_at = CASE WHEN o.status = 'pending' THEN NULL ELSE :now END,
        run_at = CASE WHEN o.status = 'pending' THEN o.run_at + {_SHIFT} ELSE j.run_at END,
        worker_id = CASE WHEN o.status = 'pending' THEN NULL ELSE j.worker_id END,
        attempts = j.attempts - o.given_back,
        progress_percent = CASE WHEN o.status = 'completed' THEN 100 ELSE j.progress_percent END,
        lease_token = NULL,
        lease_expires_at = NULL,
        updated_at = :now,
        version = j.version + 1
    FROM o
    WHERE {held_sql("j", "o.id", "o.token")}
    RETURNING j.id, j.version, j.project_id, j.status, o.payload
), e AS (
    INSERT INTO job_events (job_id, seq, kind, payload, created_at)
    SELECT u.id, u.version, 'status', CAST(u.payload AS jsonb), :now FROM u
)
SELECT u.id FROM u
CROSS JOIN LATERAL (
    SELECT pg_notify('{CHANNEL}', {_payload("u")}) AS sent,
        CASE WHEN u.status = 'pending' THEN pg_notify('{CHANNEL}', '{RUNNABLE_TAG}') END AS work
) AS n
""")


# Progress in one autocommitted statement: the guarded update, its event and the NOTIFY.
PROGRESS = sa.text(f"""
WITH u AS (
    UPDATE jobs SET progress_percent = :percent, progress_message = :message,
        updated_at = :now, version = version + 1
    WHERE {held_sql("jobs", ":id", ":token")}
    RETURNING id, version, project_id
), e AS (
    INSERT INTO job_events (job_id, seq, kind, payload, created_at)
    SELECT id, version, 'progress', CAST(:payload AS jsonb), :now FROM u
)
SELECT u.version FROM u
CROSS JOIN LATERAL (SELECT pg_notify('{CHANNEL}', {_payload("u")}) AS sent) AS n
""")

# Events appended inside a transaction (claim, cancel, retry, custom events, steps, reclaim):
# one statement inserts them and announces each job once, on commit.
INSERT_EVENTS = sa.text(f"""
WITH e AS (
    INSERT INTO job_events (job_id, seq, kind, payload, created_at)
    SELECT * FROM unnest(
        CAST(:job_ids AS uuid[]), CAST(:seqs AS integer[]), CAST(:kinds AS text[]),
        CAST(:payloads AS jsonb[]), CAST(:created AS timestamptz[])
    )
    RETURNING job_id
)
SELECT count(pg_notify('{CHANNEL}', {_payload("j")})) AS announced
FROM jobs AS j WHERE j.id IN (SELECT job_id FROM e)
""")

# After a bulk COPY: one announcement per project (nobody can follow a job id yet unknown).
ANNOUNCE_PROJECTS = sa.text(f"""
SELECT count(pg_notify('{CHANNEL}', '{EVENT_TAG}  ' || p)) AS announced
FROM unnest(CAST(:projects AS text[])) AS p
""")

# Named, in ``Job``'s field order: a migrated table's physical column order differs
# (columns added later come last), and the row becomes a ``Job`` by position.
_RETURNED = ", ".join(c.name for c in JOB_COLUMNS)

# Enqueue in one autocommitted statement: the job, its first event and both NOTIFYs.
INSERT_JOB = sa.text(f"""
WITH j AS (
    INSERT INTO jobs (id, job_type, status, input_data, created_at, updated_at, project_id,
        interview_id, parent_id, attempts, max_attempts, priority, queue, run_at,
        timeout_seconds, idempotency_key, idempotency_caller, idempotency_fingerprint, version)
    VALUES (:id, :job_type, :status, CAST(:input_data AS jsonb), :created_at, :updated_at,
        :project_id, :interview_id, :parent_id, :attempts, :max_attempts, :priority, :queue,
        CAST(:run_at AS timestamptz) + {_SHIFT}, :timeout_seconds, :idempotency_key,
        :idempotency_caller, :idempotency_fingerprint, :version)
    RETURNING {_RETURNED}
), e AS (
    INSERT INTO job_events (job_id, seq, kind, payload, created_at)
    SELECT id, 1, 'status', CAST(:payload AS jsonb), created_at FROM j
)
SELECT j.* FROM j CROSS JOIN LATERAL (
    SELECT pg_notify('{CHANNEL}', '{RUNNABLE_TAG}') AS work,
        pg_notify('{CHANNEL}', {_payload("j")}) AS log
) AS wake
""")


def announced_claim(update: sa.Update) -> sa.Select[Any]:
    """The claim ``update`` with its events and their NOTIFYs, as one statement:
    ``WITH claimed AS (UPDATE … RETURNING …), events AS (INSERT INTO job_events …)
    SELECT claimed.* FROM claimed, LATERAL (SELECT pg_notify(…))``."""
    claimed = update.cte("claimed")
    payload = sa.func.jsonb_build_object(
        sa.literal_column("'status'"),
        sa.literal_column(f"'{JobStatus.RUNNING.value}'"),
        sa.literal_column("'attempt'"),
        claimed.c.attempts,
        sa.literal_column("'worker_id'"),
        claimed.c.worker_id,
    )
    events = (
        sa.insert(job_events)
        .from_select(
            ["job_id", "seq", "kind", "payload", "created_at"],
            sa.select(
                claimed.c.id,
                claimed.c.version,
                sa.literal_column("'status'"),
                payload,
                claimed.c.started_at,
            ),
        )
        .cte("events")
    )
    notify = sa.func.pg_notify(
        sa.literal_column(f"'{CHANNEL}'"), sa.literal_column(_payload("claimed"))
    )
    announce = sa.lateral(sa.select(notify.label("sent")), name="announce")
    return sa.select(*claimed.c).add_cte(events).select_from(claimed.join(announce, sa.true()))


_JSON_COLUMNS = {"input_data", "payload"}


def _expanded(
    statement: sa.sql.ClauseElement, engine: Engine, lists: tuple[tuple[str, int], ...]
) -> tuple[str, dict[str, Any]]:
    """``statement`` in psycopg's SQL with each list spread into one parameter per item
    (``lists``: name and length), and the values it binds itself."""
    state = expanded(statement.compile(engine), lists)
    return state.statement, dict(state.parameters)


def _copy(
    cursor: psycopg.Cursor[Any], table: str, columns: Sequence[str], rows: list[dict[str, Any]]
) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row([Jsonb(row[c]) if c in _JSON_COLUMNS else row[c] for c in columns])


class PostgresDialect(Dialect):
    """PostgreSQL behaviour for the shared store."""

    name = "postgresql"
    commit_ordered_ids = False

    def __init__(self) -> None:
        self._autocommit_engine: Engine | None = None
        self._db_clock = False
        self._insert_job: str | None = None
        self._progress: str | None = None
        # Each claim shape's SQL for the lengths of its lists.
        self._claims: dict[tuple[Any, tuple[tuple[str, int], ...]], tuple[str, dict[str, Any]]]
        self._claims = {}

    def timebase(self, clock: Clock) -> Timebase:
        self._db_clock = not is_simulated(clock)
        return DatabaseTime() if self._db_clock else Timebase()

    def _autocommit(self, engine: Engine) -> Engine:
        # Single-statement writes skip BEGIN/COMMIT round trips on a pool of their own,
        # so connections never switch modes (which costs a round trip each way). Sized as
        # the main pool: enqueues, progress and lone reads of every request thread and
        # worker slot use it, and a connection beyond pool_size is closed on return, so
        # a smaller pool would connect anew (milliseconds) on many requests.
        # Nothing to roll back when a connection comes back: each statement committed
        # on its own (the pool's reset would call the driver's rollback every time).
        if self._autocommit_engine is None:
            self._autocommit_engine = sa.create_engine(
                engine.url,
                isolation_level="AUTOCOMMIT",
                pool_size=10,
                max_overflow=20,
                pool_reset_on_return=None,
            )
            check_on_checkout(self._autocommit_engine)
        return self._autocommit_engine

    def autocommit_engine(self, engine: Engine) -> Engine:
        return self._autocommit(engine)

    def close(self) -> None:
        if self._autocommit_engine is not None:
            self._autocommit_engine.dispose()

    def insert_job(
        self, engine: Engine, values: dict[str, Any], event: dict[str, Any], wait: bool = True
    ) -> Job:
        # One autocommitted statement on the driver's connection, compiled once: through
        # SQLAlchemy's execute, building the call cost more than the round trip.
        autocommit = self._autocommit(engine)
        if self._insert_job is None:
            self._insert_job = INSERT_JOB.compile(autocommit).string
        sql, decoder = self._insert_job, self.job_rows(autocommit)
        params = {
            **values,
            "input_data": json.dumps(values["input_data"]),
            "payload": json.dumps(event["payload"]),
            "now": values["created_at"],
            "db_clock": self._db_clock,
        }
        with pooled_cursor(autocommit, sql, params) as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
            description = cursor.description if decoder.needs_description else ()
        return decoder.to_job(row, description)

    def claim_statement(self, time: Timebase, shape: ClaimShape) -> sa.Executable:
        return announced_claim(claim_statement(time, shape))

    def claim(
        self,
        engine: Engine,
        statement: sa.Executable,
        params: dict[str, Any],
        now: dt.datetime,
        wait: bool = True,
    ) -> list[Job]:
        # The claim, its events and NOTIFYs in one autocommitted statement: no BEGIN and
        # COMMIT round trips, and no second statement for the events. Straight through
        # the driver, as ``insert_job``: SQLAlchemy's result layer had psycopg build the
        # 30 columns' description at every claim, about a third of its CPU.
        autocommit = self._autocommit(engine)
        lengths = list_lengths(params)
        compiled = self._claims.get((statement, lengths))
        if compiled is None:
            assert isinstance(statement, sa.sql.ClauseElement)
            compiled = self._claims[statement, lengths] = _expanded(statement, autocommit, lengths)
        sql, constants = compiled
        values = {**constants, **spread_lists(params)}
        decoder = self.job_rows(autocommit)
        with pooled_cursor(autocommit, sql, values) as cursor:
            cursor.execute(sql, values)
            rows = cursor.fetchall()
            description = cursor.description if decoder.needs_description else ()
        return [decoder.to_job(row, description) for row in rows]

    def insert_jobs(
        self, conn: Connection, rows: list[dict[str, Any]], events: list[dict[str, Any]]
    ) -> None:
        # COPY is several times faster than multi-row INSERT for bulk enqueues.
        if self._db_clock and rows:
            # COPY cannot compute: move the hosts' run_at to database time in Python.
            shift = conn.execute(sa.text("SELECT now()")).scalar_one() - rows[0]["created_at"]
            rows = [{**r, "run_at": r["run_at"] + shift} for r in rows]
        dbapi = conn.connection.dbapi_connection
        assert isinstance(dbapi, psycopg.Connection)
        with dbapi.cursor() as cursor:
            _copy(cursor, "jobs", NEW_JOB_COLUMNS, rows)
            _copy(cursor, "job_events", NEW_EVENT_COLUMNS, events)
        projects = sorted({str(r["project_id"] or "") for r in rows})
        conn.execute(ANNOUNCE_PROJECTS, {"projects": projects})

    def insert_events(self, conn: Connection, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        conn.execute(
            INSERT_EVENTS,
            {
                "job_ids": [r["job_id"] for r in rows],
                "seqs": [r["seq"] for r in rows],
                "kinds": [r["kind"] for r in rows],
                "payloads": [json.dumps(r["payload"]) for r in rows],
                "created": [r["created_at"] for r in rows],
            },
        )

    def snapshot_engine(self, engine: Engine) -> Engine:
        return engine.execution_options(isolation_level="REPEATABLE READ")

    def write_progress(
        self,
        engine: Engine,
        lease: Lease,
        percent: float | None,
        message: str | None,
        now: dt.datetime,
        wait: bool = True,
    ) -> int | None:
        # Straight through the driver, compiled once, as ``insert_job``.
        autocommit = self._autocommit(engine)
        if self._progress is None:
            self._progress = PROGRESS.compile(autocommit).string
        params = {
            "id": lease.job_id,
            "token": lease.token,
            "percent": percent,
            "message": message,
            "now": now,
            "payload": json.dumps({"percent": percent, "message": message}),
        }
        with pooled_cursor(autocommit, self._progress, params) as cursor:
            cursor.execute(self._progress, params)
            row = cursor.fetchone()
        return None if row is None else int(row[0])

    def record_outcomes(
        self, engine: Engine, outcomes: Sequence[Outcome], now: dt.datetime, wait: bool = True
    ) -> set[uuid.UUID]:
        # One autocommitted statement: the rows, their events, and the NOTIFYs (``r`` for
        # jobs handed back to pending).
        params = [outcome_params(o, now) for o in outcomes]
        with self._autocommit(engine).connect() as conn:
            recorded = set(
                conn.execute(
                    RECORD_BATCH,
                    {
                        "ids": [p["o_id"] for p in params],
                        "tokens": [p["o_token"] for p in params],
                        "statuses": [p["o_status"] for p in params],
                        "results": [json.dumps(p["o_result"]) for p in params],
                        "errors": [p["o_error"] for p in params],
                        "run_ats": [p["o_run_at"] for p in params],
                        "given_back": [p["o_given_back"] for p in params],
                        "payloads": [json.dumps(outcome_payload(o)) for o in outcomes],
                        "codes": [p["o_error_code"] for p in params],
                        "now": now,
                        "db_clock": self._db_clock,
                    },
                ).scalars()
            )
        return {o.lease.job_id for o in outcomes} - recorded

    def after_enqueue(self, conn: Connection) -> None:
        conn.execute(sa.text(f"NOTIFY {CHANNEL}, '{RUNNABLE_TAG}'"))

    def is_unique_violation(self, exc: sa.exc.IntegrityError) -> bool:
        return isinstance(exc.orig, psycopg.errors.UniqueViolation)

    def is_unavailable(self, exc: BaseException) -> bool:
        # Refused connections, "the database system is shutting down / starting up",
        # "terminating connection due to administrator command", a closed connection.
        if isinstance(exc, sa.exc.DBAPIError):
            return exc.connection_invalidated or isinstance(
                exc, (sa.exc.OperationalError, sa.exc.InterfaceError)
            )
        return isinstance(exc, (psycopg.OperationalError, psycopg.InterfaceError))

    def feed_source(self, engine: Engine) -> FeedSource:
        return ListenSource(libpq_conninfo(engine))
