"""The engine's psycopg connections (``portal.pg_connections``): a ROLLBACK still undoes the
transaction, also a failed one, and keeps the statements psycopg prepared."""

from __future__ import annotations

import pytest
from sqlalchemy import Connection, text
from sqlalchemy.exc import IntegrityError

from portal.db import make_engine
from portal.pg_connections import KeepsPrepared

pytestmark = pytest.mark.parametrize("backend", ["postgresql"], indirect=True)

READ = text("SELECT count(*) FROM kept WHERE id > :floor")


def _prepared(connection: Connection) -> list[str]:
    return list(connection.execute(text("SELECT statement FROM pg_prepared_statements"))
                .scalars())


def test_a_rollback_undoes_the_transaction_and_keeps_the_prepared_statements(
        database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            assert isinstance(connection.connection.driver_connection, KeepsPrepared)
            connection.execute(text("CREATE TEMPORARY TABLE kept (id integer PRIMARY KEY)"))
            connection.commit()
            for floor in range(8):  # past psycopg's prepare_threshold, each rolled back
                connection.execute(text("INSERT INTO kept VALUES (:id)"), {"id": floor + 1})
                assert connection.execute(READ, {"floor": 0}).scalar_one() == 1
                connection.rollback()
            assert connection.execute(READ, {"floor": 0}).scalar_one() == 0
            assert any("FROM kept" in statement for statement in _prepared(connection))
            connection.rollback()
    finally:
        engine.dispose()


def test_a_failed_transaction_rolls_back_and_the_connection_goes_on(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        with engine.connect() as connection:
            connection.execute(text("CREATE TEMPORARY TABLE kept (id integer PRIMARY KEY)"))
            connection.commit()
            for _ in range(6):
                connection.execute(READ, {"floor": 0})
            connection.execute(text("INSERT INTO kept VALUES (1)"))
            with pytest.raises(IntegrityError):
                connection.execute(text("INSERT INTO kept VALUES (1)"))
            connection.rollback()
            assert connection.execute(READ, {"floor": 0}).scalar_one() == 0
            assert any("FROM kept" in statement for statement in _prepared(connection))
            connection.commit()
    finally:
        engine.dispose()
