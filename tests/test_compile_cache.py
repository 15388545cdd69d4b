"""The suite's shared caches of compiled SQL (tests/compile_cache.py) and parsed routes
(tests/routing_cache.py): later engines and apps reuse the first one's work, and get the same
answers; engines made otherwise keep their own."""

from __future__ import annotations

from flask import Flask
from sqlalchemy import create_engine, event, select
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import make_engine, state
from portal.merchants.models import Merchant
from tests.conftest import app_settings
from tests.factories import make_merchant


def compiles(engine) -> list[str]:
    """The statements ``engine`` compiles afresh (cache misses) from now on."""
    missed: list[str] = []

    @event.listens_for(engine, "before_cursor_execute")
    def _(conn, cursor, statement, parameters, context, executemany):
        if context is not None and context.cache_hit == context.dialect.CACHE_MISS:
            missed.append(statement)

    return missed


def test_a_statement_compiled_by_one_engine_is_reused_by_the_next(
        app: Flask, session: Session, database_url: str) -> None:
    query = select(Merchant.public_id).where(Merchant.display_name == "Bakkerij de Vries")
    merchant = make_merchant(session, display_name="Bakkerij de Vries")
    session.commit()
    assert session.scalars(query).all() == [merchant.public_id]  # compiled by the app's engine
    second = make_engine(database_url)
    try:
        missed = compiles(second)
        with Session(second) as other:
            assert other.scalars(query).all() == [merchant.public_id]
            assert other.scalars(select(Merchant.public_id).where(
                Merchant.display_name == "another")).all() == []  # same statement, new value
        assert missed == []
        first = state(app).engine
        assert first.dialect == second.dialect and first.dialect is not second.dialect
    finally:
        second.dispose()


def test_an_engine_made_otherwise_compiles_for_itself(database_url: str) -> None:
    ours, own = make_engine(database_url), create_engine(database_url)
    try:
        assert ours.dialect != own.dialect and own._compiled_cache is not ours._compiled_cache
        with Session(ours) as session:
            session.scalars(select(Merchant.id)).all()
        missed = compiles(own)
        with Session(own) as session:
            session.scalars(select(Merchant.id)).all()
        assert len(missed) == 1
    finally:
        ours.dispose()
        own.dispose()


def test_apps_share_parsed_routes_but_match_and_build_with_their_own(
        app: Flask, database_url: str, tmp_path) -> None:
    other = create_app(app_settings(database_url, tmp_path / "other"))
    try:
        rules = {rule.endpoint: rule for rule in app.url_map.iter_rules()}
        for rule in other.url_map.iter_rules():
            twin = rules[rule.endpoint]
            assert rule is not twin and rule.map is other.url_map
            assert rule._trace == twin._trace
            for name, converter in rule._converters.items():
                assert converter.map is other.url_map and converter is not twin._converters[name]
        for flask_app in (app, other):
            with flask_app.test_request_context():
                adapter = flask_app.url_map.bind("localhost")
                endpoint, values = adapter.match("/sign/abc.def")
                assert values == {"token": "abc.def"}
                assert adapter.build(endpoint, values) == "/sign/abc.def"
    finally:
        state(other).dispose()
