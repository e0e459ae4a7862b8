"""The store's row guards, each written once: status tests and the lease guard.

The lease guard is the fence of every write a worker makes after its claim: the row must
be this job's, still ``running``, under the token the claim wrote. No matching row means
the lease was lost (reclaimed, cancelled, finished by someone else) and the write is
rejected. ``held`` is its SQLAlchemy form (SQLite and the generic dialect);
``postgres.py`` writes its raw-SQL statements with ``held_sql``, the same rule in text.
``check_lease`` opens the writes that touch other rows than the job's own (children,
cancels of other jobs, the application's rows) with the same rule.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from orbit.jobs.errors import LeaseLost
from orbit.jobs.models import Lease
from orbit.jobs.store.schema import jobs

# Literals, not bound parameters, so the planner can match the partial indexes.
IS_PENDING = jobs.c.status == sa.literal_column("'pending'")
IS_RUNNING = jobs.c.status == sa.literal_column("'running'")


def held(
    job_id: sa.ColumnElement[object], token: sa.ColumnElement[object]
) -> sa.ColumnElement[bool]:
    """``id = job_id AND status = 'running' AND lease_token = token``."""
    return sa.and_(jobs.c.id == job_id, IS_RUNNING, jobs.c.lease_token == token)


def held_any(pairs: list[tuple[object, object]]) -> sa.ColumnElement[bool]:
    """The lease guard for many ``(job_id, token)`` pairs at once (heartbeats)."""
    return sa.and_(IS_RUNNING, sa.tuple_(jobs.c.id, jobs.c.lease_token).in_(pairs))


def held_sql(alias: str, job_id: str, token: str) -> str:
    """The lease guard as SQL text on the ``jobs`` row ``alias`` (PostgreSQL statements)."""
    return f"{alias}.id = {job_id} AND {alias}.status = 'running' AND {alias}.lease_token = {token}"


def check_lease(conn: Connection, lease: Lease) -> None:
    """Raise ``LeaseLost`` unless ``lease`` still holds; first statement of a guarded write.

    On PostgreSQL the row stays locked until the transaction ends, so no reclaim or
    cancel can slip between this check and the writes it guards; SQLite's transactions
    begin IMMEDIATE and hold the database's write lock already.
    """
    stmt = sa.select(jobs.c.id).where(held(sa.literal(lease.job_id), sa.literal(lease.token)))
    if conn.execute(stmt.with_for_update()).first() is None:
        raise LeaseLost(lease.job_id)
