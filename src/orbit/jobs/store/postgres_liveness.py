"""A pooled PostgreSQL connection checked at checkout without a round trip.

A connection in the pool is idle: the server sends it nothing unless something happened
to it. A restart, ``pg_terminate_backend`` or an idle timeout makes the server send its
``FATAL`` and close the socket, so the socket of a dead connection is readable. Checking
that costs one ``poll`` with no wait, where a ping (``pool_pre_ping``) costs a round
trip (0.24 ms here, as much as the status read itself). A connection whose socket is
readable, or that has no socket, is discarded: the pool opens a fresh one.

What a readable socket cannot tell, a silent network partition, a ping would not tell
either without waiting for a timeout; the statement then fails and SQLAlchemy
invalidates the connection and every older one in its pool, as it does for any
disconnect.
"""

from __future__ import annotations

import select
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def check_on_checkout(engine: Engine) -> None:
    """Discard pooled connections that the server has closed, as they leave ``engine``'s pool."""
    sa.event.listen(engine, "checkout", _discard_if_closed)


def _discard_if_closed(dbapi_connection: Any, record: Any, proxy: Any) -> None:
    if server_spoke(dbapi_connection):
        raise sa.exc.DisconnectionError("the server closed this pooled connection")


def server_spoke(dbapi_connection: Any) -> bool:
    """Whether an idle psycopg connection has input waiting (its end, or a message) or
    is already closed."""
    try:
        if dbapi_connection.closed:
            return True
        fd = dbapi_connection.pgconn.socket
    except Exception:  # the driver cannot even name its socket: not usable
        return True
    poller = select.poll()
    poller.register(fd, select.POLLIN | select.POLLPRI)
    return bool(poller.poll(0))
