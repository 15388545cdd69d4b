"""Tests build a fresh engine per test, and SQLAlchemy compiles every statement again for each.

SQLAlchemy caches a statement's compiled form per engine (``Engine._compiled_cache``) and the
unit of work's INSERT/UPDATE/DELETE per mapper, both keyed by the engine's dialect *object*. So
each test's engine, with a dialect of its own, compiles the same few hundred statements again:
about a fifth of a typical test's CPU. ``install()`` gives the engines that ``portal.db``
makes one cache per backend, shared by the process, and makes their dialects compare equal
when they are of the same class for the same driver (every such engine is created with the same
arguments by ``make_engine``, against the same SQLite library or the same PostgreSQL cluster).
Other dialects (engines a test creates itself) keep comparing by identity. Compilation,
execution and results stay SQLAlchemy's own; only a compile whose result is already known is
skipped.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy import create_engine as _create_engine
from sqlalchemy.engine.default import DefaultDialect
from sqlalchemy.util import LRUCache

from portal import db

#: The key the shared dialects are equal by, stored on each such dialect.
_KEY = "_tests_shared_compile_key"
_caches: dict[tuple, LRUCache] = {}


def _dialect_hash(self: DefaultDialect) -> int:
    key = self.__dict__.get(_KEY)
    return object.__hash__(self) if key is None else hash(key)


def _dialect_eq(self: DefaultDialect, other: object) -> bool:
    if self is other:
        return True
    key = self.__dict__.get(_KEY)
    return key is not None and key == getattr(other, "__dict__", {}).get(_KEY)


def _create_shared_engine(url: Any, **kwargs: Any) -> Engine:
    engine = _create_engine(url, **kwargs)
    dialect = engine.dialect
    key = (type(dialect).__module__, type(dialect).__qualname__, engine.url.drivername,
           tuple(sorted((name, repr(value)) for name, value in kwargs.items())))
    dialect.__dict__[_KEY] = key
    cache = _caches.get(key)
    if cache is None:
        cache = _caches[key] = LRUCache(5000)
    engine._compiled_cache = cache
    return engine


def install() -> None:
    """Share compiled statements between the engines ``portal.db`` makes (idempotent)."""
    DefaultDialect.__hash__ = _dialect_hash  # type: ignore[method-assign,assignment]
    DefaultDialect.__eq__ = _dialect_eq  # type: ignore[method-assign,assignment]
    db.create_engine = _create_shared_engine  # type: ignore[attr-defined]
