"""A partial key is a range of its index in code-point order, whatever the database's locale:
on PostgreSQL with a linguistic (ICU) collation, 'sam+' still finds 'sam+shop@…' (0024_search
_collation gives the search keys the "C" collation); on SQLite BINARY order does the same."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import Engine, text

from portal import create_app, migrate
from portal.console.roles import Scope
from portal.console.search import SearchRequest, search_mandates
from portal.db import make_engine, state
from tests.conftest import app_settings
from tests.factories import make_invitation, make_merchant
from tests.pgcluster import PostgresCluster

_numbers = itertools.count()


def _icu_database(request: pytest.FixtureRequest) -> str:
    """A migrated PostgreSQL database whose default collation is ICU's English."""
    admin: Engine = request.getfixturevalue("postgres_admin")
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"icu_{next(_numbers)}"
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name} TEMPLATE template0 "
                                "LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"))
    request.addfinalizer(lambda: _drop(admin, name))
    engine = make_engine(cluster.url(name))
    migrate.upgrade(engine)
    migrate.downgrade(engine, "5897dd2e010f")  # 0024 undone: the database's collation again
    with engine.connect() as connection:
        assert connection.execute(text(
            "SELECT collation_name FROM information_schema.columns "
            "WHERE column_name = 'term'")).scalar() is None
    migrate.upgrade(engine)
    with engine.connect() as connection:
        # The database sorts 'a+b' outside ['a+', 'a,'): a prefix range would miss it.
        assert connection.execute(text("SELECT 'a+b' < 'a,'")).scalar() is False
        assert connection.execute(text(
            "SELECT table_name, column_name, collation_name FROM information_schema.columns "
            "WHERE column_name IN ('term', 'reference_key') ORDER BY table_name")).all() == [
            ("customer_search_term", "term", "C"), ("mandate", "reference_key", "C")]
        assert connection.execute(text(
            "SELECT attstattarget FROM pg_attribute WHERE attname = 'term' "
            "AND attrelid = 'customer_search_term'::regclass")).scalar() == 1000
    engine.dispose()
    return cluster.url(name)


def _drop(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture
def linguistic_app(request: pytest.FixtureRequest, backend: str,
                   tmp_path: Path) -> Iterator[Flask]:
    url = (request.getfixturevalue("database_url") if backend == "sqlite"
           else _icu_database(request))
    app = create_app(app_settings(url, tmp_path / "instance"))
    yield app
    state(app).dispose()


def test_prefixes_with_punctuation_are_found_under_a_linguistic_collation(
        linguistic_app: Flask) -> None:
    with state(linguistic_app).factory() as session:
        merchant = make_merchant(session)
        mandate = make_invitation(session, merchant, customer_name="Robin Jansen",
                                  customer_email="sam+shop@mail.example").mandate
        other = make_invitation(session, merchant, customer_name="Robin Bakker",
                                customer_email="sam-shop@mail.example").mandate
        session.commit()

        def found(query: str) -> set[str]:
            result = search_mandates(session, SearchRequest(query=query), Scope(None))
            return {m.public_id for m in result.mandates}

        assert found("sam+") == {mandate.public_id}
        assert found("sam+shop@") == {mandate.public_id}
        assert found("sam-") == {other.public_id}
        assert found("sam") == {mandate.public_id, other.public_id}
        assert found(mandate.reference[:9]) >= {mandate.public_id}
