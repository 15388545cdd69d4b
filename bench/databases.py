"""Databases for the benches that need one: migrated and empty, or seeded once and kept.

A seeded database is kept in ``bench/.cache/`` (git-ignored) under a key of everything it was
made from: the migrations, the bench's own seeding code and parameters, and the backend (with
PostgreSQL's version). The next run with the same key copies it (a SQLite file, or a stopped
PostgreSQL data directory) instead of seeding again, which takes minutes for 100,000 mandates.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text

from portal import migrate
from portal.db import make_engine
from tests.pgcluster import PostgresCluster, find_pg_bin

ROOT = Path(__file__).resolve().parents[1]
#: Where seeded databases are kept (``BENCH_CACHE`` moves it, e.g. for a test).
CACHE = Path(os.environ.get("BENCH_CACHE") or ROOT / "bench" / ".cache")
MIGRATIONS = ROOT / "portal" / "migrations" / "versions"


@contextmanager
def migrated_database(backend: str, scratch: Path, name: str = "bench") -> Iterator[str]:
    """The URL of a migrated, empty database: a SQLite file in ``scratch``, or a database in a
    throwaway PostgreSQL cluster (stopped when the block ends)."""
    if backend == "sqlite":
        url = f"sqlite:///{scratch / f'{name}.sqlite3'}"
        _migrate(url)
        yield url
        return
    cluster = PostgresCluster(find_pg_bin()).start()
    try:
        yield _new_pg_database(cluster, name)
    finally:
        cluster.stop()


def _migrate(url: str) -> None:
    engine = make_engine(url)
    migrate.upgrade(engine)
    engine.dispose()


def _new_pg_database(cluster: PostgresCluster, name: str) -> str:
    admin = create_engine(cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f"CREATE DATABASE {name}"))
    admin.dispose()
    _migrate(cluster.url(name))
    return cluster.url(name)


def cache_key(backend: str, *parts: str) -> str:
    """A short digest of the schema (every migration file), ``parts`` and the backend."""
    digest = hashlib.sha256(backend.encode())
    if backend == "postgresql":
        version = subprocess.run([str(find_pg_bin() / "postgres"), "--version"], check=True,
                                 capture_output=True, text=True).stdout
        digest.update(version.encode())
    for path in sorted(MIGRATIONS.glob("*.py")):
        digest.update(path.name.encode() + path.read_bytes())
    for part in parts:
        digest.update(b"\0" + part.encode())
    return digest.hexdigest()[:16]


def is_cached(name: str, backend: str, key: str) -> bool:
    """Whether :func:`seeded_database` would copy ``name`` from the cache."""
    return (CACHE / f"{name}-{backend}-{key}").exists()


@contextmanager
def seeded_database(backend: str, scratch: Path, name: str, key: str,
                    seed: Callable[[str], None], *, fresh: bool = False
                    ) -> Iterator[tuple[str, bool]]:
    """The URL of a migrated database that ``seed(url)`` filled, and whether it came from the
    cache (``key`` from :func:`cache_key`; ``fresh`` seeds anew and replaces the cached one).
    The caller works on a copy: the cached database is never changed."""
    kept = CACHE / f"{name}-{backend}-{key}"
    hit = kept.exists() and not fresh
    if backend == "sqlite":
        path = scratch / f"{name}.sqlite3"
        if hit:
            shutil.copyfile(kept, path)
        else:
            _migrate(f"sqlite:///{path}")
            seed(f"sqlite:///{path}")
            _keep(name, kept, lambda target: _sqlite_copy(path, target))
        yield f"sqlite:///{path}", hit
        return
    cluster = PostgresCluster(find_pg_bin(), data_from=kept if hit else None).start()
    try:
        if not hit:
            url = _new_pg_database(cluster, name)
            seed(url)
            cluster.halt()  # a clean shutdown: the copy needs no recovery
            _keep(name, kept, lambda target: subprocess.run(
                ["cp", "-a", str(cluster.data), str(target)], check=True))
            cluster.resume()
        yield cluster.url(name), hit
    finally:
        cluster.stop()


@contextmanager
def migrated_copy(backend: str, scratch: Path) -> Iterator[str]:
    """The URL of a migrated, empty database, copied from ``bench/.cache`` after the first run
    (one kept per schema and backend, shared by the benches): running the migrations, and
    initdb on PostgreSQL, took seconds per bench and database. One per ``scratch`` folder."""
    with seeded_database(backend, scratch, "migrated", cache_key(backend),
                         lambda url: None) as (url, _cached):
        yield url


def _sqlite_copy(source: Path, target: Path) -> None:
    """A consistent copy whatever is still in the WAL (SQLite's online backup)."""
    with sqlite3.connect(source) as origin, sqlite3.connect(target) as copy:
        origin.backup(copy)
    copy.close()
    origin.close()


def _keep(name: str, kept: Path, write: Callable[[Path], object]) -> None:
    """Store a seeded database as ``kept`` (written beside it, then renamed), dropping those
    of the same bench and backend made from something else."""
    CACHE.mkdir(parents=True, exist_ok=True)
    for old in CACHE.glob(f"{kept.name.rsplit('-', 1)[0]}-*"):
        shutil.rmtree(old) if old.is_dir() else old.unlink()
    partial = kept.with_name(kept.name + ".partial")
    write(partial)
    partial.rename(kept)
