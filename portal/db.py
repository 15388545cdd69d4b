"""Database engine and sessions: SQLAlchemy 2.x, SQLite (WAL) by default, PostgreSQL when configured."""

from __future__ import annotations

import enum
import os
from collections import namedtuple
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, cast

from flask import Flask, current_app, g, has_app_context
from sqlalchemy import (
    DateTime,
    Engine,
    Enum,
    MetaData,
    Select,
    Table,
    create_engine,
    event,
    func,
    insert,
    select,
)
from sqlalchemy.engine import CursorResult, Dialect, Result, make_url
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

from portal import pg_connections
from portal.audit.keys import AuditKeyring
from portal.console.passwords import passwords_from_config
from portal.crypto import FieldCipher
from portal.prepared_reads import NotPreparable, PreparedRead, owned_connections

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """A timestamp that only accepts aware datetimes and always returns them in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; the portal stores UTC-aware times only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def enum_column(cls: type[enum.Enum]) -> Enum:
    """Store an enum by value in a plain string column (portable across SQLite and PostgreSQL)."""
    return Enum(cls, native_enum=False, length=32, values_callable=lambda e: [m.value for m in e])


class Base(DeclarativeBase):
    """Declarative base of every model; aware datetimes map to :class:`UtcDateTime`."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {datetime: UtcDateTime()}


def table_of(model: type[Base]) -> Table:
    """A model's table, for bulk writes that skip the unit of work (multi-row INSERTs)."""
    return cast(Table, model.__table__)


def insert_rows(session: Session, table: Table, rows: list[dict[str, Any]]) -> dict[str, int]:
    """Insert many rows of a table with an ``id`` and a ``public_id``; their new ids by public
    id. PostgreSQL draws the ids from the table's sequence first and inserts through the
    driver's pipelined executemany, about half the cost of INSERT … RETURNING there; SQLite,
    in process, takes the ids from one multi-row INSERT … RETURNING (in whatever order)."""
    if not rows:
        return {}
    if session.get_bind().dialect.name == "postgresql":
        ids = list(session.scalars(
            select(func.nextval(func.pg_get_serial_sequence(table.name, "id")))
            .select_from(func.generate_series(1, len(rows)))))
        session.execute(insert(table), [{**row, "id": new_id}
                                        for row, new_id in zip(rows, ids, strict=True)])
        return {row["public_id"]: new_id for row, new_id in zip(rows, ids, strict=True)}
    result = session.execute(insert(table).returning(table.c.public_id, table.c.id), rows)
    return {public_id: new_id for public_id, new_id in result}


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and enforced foreign keys."""
    if url.startswith("sqlite"):
        _keep_private(make_url(url).database)
        engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _configure_sqlite)
        return engine
    # No pre-ping: it costs a round trip on every checkout. Connections are recycled hourly, and
    # one that a server restart broke is discarded by the pool when its error surfaces.
    engine = create_engine(url, pool_recycle=3600, pool_size=5, max_overflow=10)
    if engine.dialect.driver == "psycopg":
        event.listen(engine, "do_connect", _keeps_prepared)
    return engine


def _keeps_prepared(_dialect: Dialect, _record: Any, cargs: Any, cparams: Any) -> Any:
    """psycopg connections whose rollback keeps their prepared statements
    (``portal.pg_connections``: otherwise PostgreSQL planned every statement of a flow)."""
    return pg_connections.connect(*cargs, **cparams)


def _keep_private(database: str | None) -> None:
    """Create the SQLite file readable by its owner only (0600) and tighten one made before:
    it holds every customer's name and email. SQLite gives its -wal and -shm files the
    database file's mode; existing ones are tightened too."""
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.is_dir():
        return  # SQLite will say so when it connects
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    for file in (path, path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        try:
            if file.stat().st_mode & 0o077 and file.stat().st_uid == os.getuid():
                file.chmod(0o600)
        except FileNotFoundError:
            pass


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=15000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def init_app(app: Flask) -> None:
    """Create the app's engine and session factory; close the request session on teardown."""
    engine = make_engine(app.config["DATABASE_URL"])
    cipher = FieldCipher(app.config["DATA_KEY"], app.config["DATA_KEY_FALLBACKS"])
    audit_keys = AuditKeyring(app.config["AUDIT_KEY"], app.config["AUDIT_KEY_FALLBACKS"])
    passwords = passwords_from_config(app.config)  # the console's Argon2id parameters
    factory = sessionmaker(engine, expire_on_commit=False,
                           info={"cipher": cipher, "audit_keys": audit_keys,
                                 "passwords": passwords})
    app.extensions["db"] = DatabaseState(engine, factory, cipher, audit_keys)
    app.teardown_appcontext(_close_session)


class DatabaseState:
    """What the app keeps about its database: the engine, the session factory, and the keys
    its sessions carry (the field cipher, the audit keyring)."""

    def __init__(self, engine: Engine, factory: sessionmaker[Session], cipher: FieldCipher,
                 audit_keys: AuditKeyring) -> None:
        self.engine = engine
        self.factory = factory
        self.cipher = cipher
        self.audit_keys = audit_keys
        self._reads: Engine | None = None

    @property
    def reads(self) -> Engine:
        """For single-statement reads on hot paths: on PostgreSQL a pool of connections kept in
        autocommit (no BEGIN/ROLLBACK round trips, nothing set and reset per checkout); on
        SQLite, where a lone SELECT opens no transaction anyway, the engine itself."""
        if self._reads is None:
            if self.engine.dialect.name == "postgresql":
                self._reads = create_engine(self.engine.url, isolation_level="AUTOCOMMIT",
                                            pool_recycle=3600, pool_size=2, max_overflow=8)
            else:
                self._reads = self.engine
        return self._reads

    def dispose(self) -> None:
        """Close every connection: the pools' and, through the engines' ``engine_disposed``
        event (``portal.prepared_reads.owned_connections``), the threads' own (``RowRead`` on
        PostgreSQL), which would otherwise keep the database from being dropped."""
        if self._reads is not None and self._reads is not self.engine:
            self._reads.dispose()
        self.engine.dispose()


class RowRead:
    """One SELECT, for the hottest single-row reads: compiled once per dialect, its values
    converted by the columns' own types (aware UTC times, enums, booleans). SQLAlchemy's
    per-execution machinery (execution context, result objects) costs several times the query
    itself on SQLite; this skips only that machinery. On SQLite it runs straight on a pooled
    DBAPI connection (the pool checks it out and back in, and invalidates a broken one); on
    PostgreSQL (psycopg) as a prepared statement on the thread's own connection
    (``portal.prepared_reads``), where the pool and the cursor cost several times the query.
    Either way every call reads the database afresh."""

    def __init__(self, statement: Select[*tuple[Any, ...]]) -> None:
        self.statement = statement
        self.Row = namedtuple("Row", [column.key for column in statement.selected_columns])  # type: ignore[misc]
        self._compiled: dict[tuple[str, str], _CompiledRead] = {}

    def first(self, engine: Engine, **params: Any) -> Any:
        """The first row (a named tuple of the selected columns), or None."""
        dialect = engine.dialect
        compiled = self._compiled.get((dialect.name, dialect.driver))
        if compiled is None:
            compiled = self._compiled[(dialect.name, dialect.driver)] = _CompiledRead(
                self.statement, dialect)
        if compiled.prepared is not None:
            try:
                row = owned_connections(engine).first(compiled.prepared,
                                                      compiled.bound(params))
            except NotPreparable:
                compiled.prepared = None  # read through the pool from now on
            else:
                return self._row(compiled, row)
        connection = engine.raw_connection()
        cursor = None
        try:
            cursor = connection.cursor()
            cursor.execute(compiled.sql, compiled.parameters(params))
            row = cursor.fetchone()
        except dialect.loaded_dbapi.Error as exc:
            if dialect.is_disconnect(exc, connection.dbapi_connection, cursor):
                connection.invalidate(exc)
            raise
        finally:
            if cursor is not None:
                cursor.close()
            connection.close()
        return self._row(compiled, row)

    def _row(self, compiled: _CompiledRead, row: Sequence[Any] | None) -> Any:
        if row is None:
            return None
        return self.Row(*(value if convert is None else convert(value)
                          for convert, value in zip(compiled.converters, row, strict=True)))


class _CompiledRead:
    """A statement's SQL for one dialect, how its parameters are passed and its values read."""

    def __init__(self, statement: Select[*tuple[Any, ...]], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect)
        self.sql = str(compiled)
        #: Parameter names in order for positional paramstyles (SQLite's ``?``), else None.
        self.positions: list[str] | None = compiled.positiontup
        self.binds: dict[str, Callable[[Any], Any] | None] = {
            name: bind.type.dialect_impl(dialect).bind_processor(dialect)
            for name, bind in compiled.binds.items()}
        self.converters: list[Callable[[Any], Any] | None] = [
            column.type.dialect_impl(dialect).result_processor(dialect, None)
            for column in statement.selected_columns]
        #: PostgreSQL through psycopg: the statement as libpq prepares it.
        self.prepared: PreparedRead | None = None
        if dialect.name == "postgresql" and dialect.driver == "psycopg":
            with suppress(NotPreparable):
                self.prepared = PreparedRead(self.sql)

    def bound(self, params: dict[str, Any]) -> dict[str, Any]:
        """The parameters as the columns' types bind them."""
        return {name: value if (convert := self.binds.get(name)) is None else convert(value)
                for name, value in params.items()}

    def parameters(self, params: dict[str, Any]) -> Any:
        values = self.bound(params)
        if self.positions is None:
            return values
        return tuple(values[name] for name in self.positions)


def state(app: Flask | None = None) -> DatabaseState:
    return (app or current_app).extensions["db"]


def get_session() -> Session:
    """The session of the current request or app context, opened on first use."""
    if "db_session" not in g:
        g.db_session = state().factory()
    return g.db_session


def _close_session(_exc: BaseException | None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        session.close()


@contextmanager
def current_session(session: Session) -> Iterator[Session]:
    """Make ``session`` the one :func:`get_session` returns while the block runs (a job's, a
    command's): adapters that share the unit of work at hand, such as the sandbox provider,
    then write in it rather than in a second transaction."""
    if not has_app_context():
        yield session
        return
    previous = g.pop("db_session", None)
    g.db_session = session
    try:
        yield session
    finally:
        g.pop("db_session", None)
        if previous is not None:
            g.db_session = previous


@contextmanager
def session_scope(app: Flask | None = None) -> Iterator[Session]:
    """A session for background work: commit on success, roll back on error, always close."""
    session = state(app).factory()
    try:
        with current_session(session):
            yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def where_given(query: Select[Any], *filters: tuple[InstrumentedAttribute[Any], Any]
                ) -> Select[Any]:
    """``query`` narrowed by ``column == value`` for each filter whose value is not None (the
    optional filters of a list endpoint)."""
    for column, value in filters:
        if value is not None:
            query = query.where(column == value)
    return query


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE changed (the rowcount of its cursor result)."""
    return cast("CursorResult[Any]", result).rowcount


def cipher_of(session: Session) -> FieldCipher:
    """The field cipher bound to a session by :func:`init_app`."""
    return session.info["cipher"]


def open_transaction(session: Session) -> None:
    """Make sure the database has begun the session's transaction before a savepoint: the
    sqlite3 module begins one only before its first write, and a SAVEPOINT outside one is
    released by committing (so a later rollback would not undo it)."""
    connection = session.connection()
    if connection.dialect.name != "sqlite":
        return
    raw = connection.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        connection.exec_driver_sql("BEGIN")
