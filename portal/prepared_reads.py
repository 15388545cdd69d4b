"""PostgreSQL's path for :class:`portal.db.RowRead`: each thread's own connection, the statement
prepared on it once, the binary result converted here.

Through the pool and a psycopg cursor, one small SELECT cost 90–130 µs of the worker's CPU
(checkout and return, the cursor, the query's adaptation and the rows' loading) and the server
parsed and planned it every time; psycopg's own ``prepare=True`` on a connection kept by the
thread still ~65 µs; libpq's prepared statement (``PQexecPrepared``) 15–20 µs, some 30 µs with
the row converted here and by the columns' types, and the server only executes it. Nothing is
kept across calls but the connection and its prepared statement: every call reads afresh.

A thread's connection is made by the engine (``raw_connection()``, then detached from its pool),
so it connects exactly as the engine's own do (URL, connect arguments, events, isolation level),
and is recycled as the engine's pool recycles its own. A call on a connection that has gone bad
(a server restart, a terminated backend) or whose statement fails drops it and runs once more
on a new one; an error there is raised to the caller. :meth:`OwnedConnections.close` (run when
the engine is disposed) closes every thread's connection; a forked process never uses its
parent's (they are left alone, for the parent), it makes its own.
"""

from __future__ import annotations

import itertools
import os
import re
import struct
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg import pq
from sqlalchemy import Engine, event

#: Binary loaders by type OID, giving what psycopg's own loaders give (timestamps before the
#: connection's time zone is applied). A column of any other type is read through the pool.
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
_INT2, _INT4 = struct.Struct(">h").unpack, struct.Struct(">i").unpack
_INT8 = struct.Struct(">q").unpack
_LOADERS: dict[int, Callable[[bytes], Any]] = {
    16: lambda value: value != b"\x00",  # bool
    21: lambda value: _INT2(value)[0],  # int2
    23: lambda value: _INT4(value)[0],  # int4
    20: lambda value: _INT8(value)[0],  # int8
    25: bytes.decode, 1043: bytes.decode, 1042: bytes.decode, 19: bytes.decode,  # text types
    1184: lambda value: _EPOCH + timedelta(microseconds=_INT8(value)[0]),  # timestamptz
}
_TIMESTAMPTZ = 1184
_UTC_ZONES = frozenset({"UTC", "Etc/UTC", "Etc/UCT", "UCT", "Universal", "Etc/Universal", "Zulu",
                        "Etc/Zulu", "GMT", "Etc/GMT"})
_PARAMETER = re.compile(r"%%|%\(([^)]+)\)s|%")
_names = itertools.count(1)


class NotPreparable(Exception):
    """The statement (its SQL, a parameter's or a column's type) cannot take this path."""


class PreparedRead:
    """A pyformat statement (psycopg's, as SQLAlchemy compiles it) as libpq's ``$n`` one."""

    def __init__(self, sql: str) -> None:
        order: list[str] = []

        def number(match: re.Match[str]) -> str:
            if match.group(0) == "%%":
                return "%"
            if match.group(1) is None:
                raise NotPreparable(f"a lone % in {sql!r}")
            if match.group(1) not in order:
                order.append(match.group(1))
            return f"${order.index(match.group(1)) + 1}"

        self.sql = _PARAMETER.sub(number, sql).encode()
        self.order = order
        self.name = f"portal_read_{next(_names)}".encode()

    def values(self, params: dict[str, Any]) -> list[bytes | None]:
        """The parameters in text format, in order (the server infers their types)."""
        return [_text(params[name]) for name in self.order]


def _text(value: Any) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return b"t" if value else b"f"
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, int):
        return str(value).encode()
    raise NotPreparable(f"a parameter of type {type(value).__name__}")


class _Owned:
    """One thread's connection, the statements prepared on it and how their columns load."""

    def __init__(self, connection: psycopg.Connection[Any], recycle: float) -> None:
        self.connection: psycopg.Connection[Any] | None = connection
        self.pgconn = connection.pgconn
        self.pid = os.getpid()
        self.retire_at = time.monotonic() + recycle if recycle >= 0 else float("inf")
        self.lock = threading.Lock()
        self.prepared: dict[bytes, list[Callable[[bytes], Any]]] = {}
        zone = connection.info.timezone
        self.zone = None if getattr(zone, "key", None) in _UTC_ZONES or zone is UTC else zone
        if connection.info.encoding != "utf-8":
            raise NotPreparable(f"client encoding {connection.info.encoding}")

    def first(self, read: PreparedRead, values: Sequence[bytes | None]
              ) -> list[Any] | None:
        """The statement's first row, each value loaded, or None."""
        pgconn = self.pgconn
        if read.name not in self.prepared:
            self.prepared[read.name] = self._prepare(read)
        loaders = self.prepared[read.name]
        if loaders is None:
            raise NotPreparable(f"a column of {read.sql!r} has a type not loaded here")
        result = pgconn.exec_prepared(read.name, values, None, 1)
        try:
            if result.status != pq.ExecStatus.TUPLES_OK:
                raise _error(pgconn, result)
            if result.ntuples == 0:
                return None
            row = [result.get_value(0, column) for column in range(result.nfields)]
        finally:
            result.clear()
        return [value if value is None else load(value)
                for load, value in zip(loaders, row, strict=True)]

    def _prepare(self, read: PreparedRead) -> list[Callable[[bytes], Any]] | None:
        """Prepare the statement on this connection; its columns' loaders (None: a type
        without one)."""
        pgconn = self.pgconn
        _check(pgconn, pgconn.prepare(read.name, read.sql))
        described = pgconn.describe_prepared(read.name)
        try:
            if described.status != pq.ExecStatus.COMMAND_OK:
                raise _error(pgconn, described)
            types = [described.ftype(column) for column in range(described.nfields)]
        finally:
            described.clear()
        if any(oid not in _LOADERS for oid in types):
            return None
        zone = self.zone
        return [(lambda value: _LOADERS[_TIMESTAMPTZ](value).astimezone(zone))
                if oid == _TIMESTAMPTZ and zone is not None else _LOADERS[oid]
                for oid in types]

    def close(self) -> None:
        connection, self.connection = self.connection, None
        if connection is not None and self.pid == os.getpid():
            connection.close()


def _check(pgconn: pq.abc.PGconn, result: pq.abc.PGresult) -> None:
    """Raise the error of a command that failed (its result cleared either way)."""
    try:
        if result.status != pq.ExecStatus.COMMAND_OK:
            raise _error(pgconn, result)
    finally:
        result.clear()


def _error(pgconn: pq.abc.PGconn, result: pq.abc.PGresult) -> psycopg.Error:
    """The DBAPI error a failed result stands for (a bad connection: OperationalError)."""
    message = (result.error_message or pgconn.error_message).decode(errors="replace").strip()
    if pgconn.status != pq.ConnStatus.OK:
        return psycopg.OperationalError(message)
    state = result.error_field(pq.DiagnosticField.SQLSTATE)
    kind = psycopg.errors.lookup(state.decode()) if state else psycopg.DatabaseError
    return kind(message)


class OwnedConnections:
    """Each thread's own connection to one engine's database."""

    def __init__(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)  # kept by the engine, never keeping it
        self._recycle = float(getattr(engine.pool, "_recycle", -1))
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: set[_Owned] = set()

    def first(self, read: PreparedRead, params: dict[str, Any]) -> list[Any] | None:
        """The first row of ``read`` run afresh with ``params``, its values loaded, or None.
        :class:`NotPreparable` if it cannot run here (the caller reads through the pool)."""
        values = read.values(params)
        for attempt in (1, 2):
            owned, fresh = self._owned()
            with owned.lock:
                if owned.connection is None:  # closed meanwhile by close()
                    continue
                try:
                    return owned.first(read, values)
                except NotPreparable:
                    raise
                except Exception:
                    # Broken (a restart, a terminated backend) or failing (its prepared plan
                    # outdated by a migration): dropped; a reused one gets one more try.
                    self._drop(owned)
                    if fresh or attempt == 2:
                        raise
        raise psycopg.OperationalError("the connections were closed while reading")

    def _owned(self) -> tuple[_Owned, bool]:
        owned: _Owned | None = getattr(self._local, "owned", None)
        if (owned is not None and owned.connection is not None and owned.pid == os.getpid()
                and time.monotonic() < owned.retire_at):
            return owned, False
        if owned is not None and owned.pid == os.getpid():
            self._drop(owned)  # recycled
        engine = self._engine()
        if engine is None:
            raise psycopg.OperationalError("the engine is gone")
        proxied = engine.raw_connection()
        proxied.detach()  # ours now: closed by us, never returned to the pool
        try:
            owned = _Owned(proxied.dbapi_connection, self._recycle)  # type: ignore[arg-type]
        except BaseException:
            proxied.dbapi_connection.close()  # type: ignore[union-attr]
            raise
        with self._lock:
            self._all.add(owned)
        self._local.owned = owned
        return owned, True

    def _drop(self, owned: _Owned) -> None:
        owned.close()
        with self._lock:
            self._all.discard(owned)
        if getattr(self._local, "owned", None) is owned:
            self._local.owned = None

    def close(self) -> None:
        """Close every thread's connection made in this process (a forked child's inherited
        ones are only forgotten: closing them would end the parent's sessions)."""
        with self._lock:
            owned_now, self._all = self._all, set()
        for owned in owned_now:
            if owned.pid == os.getpid():
                with owned.lock:  # not while its thread is reading on it
                    owned.close()

    def count(self) -> int:
        """How many connections are open (for tests and checks)."""
        with self._lock:
            return sum(1 for owned in self._all if owned.pid == os.getpid())


_owners: weakref.WeakKeyDictionary[Engine, OwnedConnections] = weakref.WeakKeyDictionary()
_owners_lock = threading.Lock()


def owned_connections(engine: Engine) -> OwnedConnections:
    """The engine's owned connections, closed whenever the engine is disposed."""
    owner = _owners.get(engine)
    if owner is None:
        with _owners_lock:
            owner = _owners.get(engine)
            if owner is None:
                owner = _owners[engine] = OwnedConnections(engine)
                event.listen(engine, "engine_disposed", lambda _engine: owner.close())
    return owner
