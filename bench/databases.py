"""A migrated, empty database per backend for the benches that need one."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from portal import migrate
from portal.db import make_engine
from tests.pgcluster import PostgresCluster, find_pg_bin


@contextmanager
def migrated_database(backend: str, scratch: Path, name: str = "bench") -> Iterator[str]:
    """The URL of a migrated, empty database: a SQLite file in ``scratch``, or a database in a
    throwaway PostgreSQL cluster (stopped when the block ends)."""
    if backend == "sqlite":
        url = f"sqlite:///{scratch / f'{name}.sqlite3'}"
        engine = make_engine(url)
        migrate.upgrade(engine)
        engine.dispose()
        yield url
        return
    cluster = PostgresCluster(find_pg_bin()).start()
    try:
        admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f"CREATE DATABASE {name}"))
        admin.dispose()
        engine = make_engine(cluster.url(name))
        migrate.upgrade(engine)
        engine.dispose()
        yield cluster.url(name)
    finally:
        cluster.stop()
