"""psycopg connections for the engine whose rollback keeps their prepared statements.

psycopg prepares a query server-side once it has run ``prepare_threshold`` (5) times on a
connection, and forgets every prepared statement, with the counts towards the threshold, on
each ``rollback()`` (sending ``DEALLOCATE ALL``): psycopg guards there against a transaction
that created an object, prepared a statement on it and rolled back. Every request that only
reads ends its session with a ROLLBACK (three in each sign-and-verify flow), so no statement
reached the threshold and PostgreSQL parsed and planned every one of them again: 45 plans per
flow, some 4–5 ms of the server's CPU (the invitation's four-table join alone ~390 µs each).

Here a ROLLBACK of a transaction keeps them. Prepared statements are the session's, not the
transaction's (a ROLLBACK leaves them on the server); the portal's connections never run DDL
(migrations run on their own), and a statement whose tables did change is re-planned by the
server, or fails as the unprepared query would. Anything but a plain open or failed
transaction (a pipeline, no transaction) takes psycopg's own rollback.
"""

from __future__ import annotations

from typing import Any

import psycopg
from psycopg import pq

_IN_TRANSACTION = frozenset({pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR})
#: libpq before 14 has no pipeline mode (nor ``PQpipelineStatus``).
_PIPELINES = pq.version() >= 140000


class KeepsPrepared(psycopg.Connection[Any]):
    """A psycopg connection whose :meth:`rollback` leaves its prepared statements in place."""

    def rollback(self) -> None:
        pgconn = self.pgconn
        if (pgconn.transaction_status not in _IN_TRANSACTION
                or (_PIPELINES and pgconn.pipeline_status != pq.PipelineStatus.OFF)):
            super().rollback()
            return
        with self.lock:
            result = pgconn.exec_(b"ROLLBACK")
        try:
            failed = result.status != pq.ExecStatus.COMMAND_OK
        finally:
            result.clear()
        if failed or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            super().rollback()  # raises what went wrong (a broken connection, say)


def connect(*args: Any, **kwargs: Any) -> KeepsPrepared:
    """Connect as SQLAlchemy's psycopg dialect would (its ``do_connect`` arguments)."""
    return KeepsPrepared.connect(*args, **kwargs)
