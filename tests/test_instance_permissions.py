"""The instance folder (keys, database, PDFs) is its owner's only: the folder 0700, the SQLite
database and its -wal and -shm files 0600, also where an older version made them wider."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from portal import create_app, migrate
from portal.db import make_engine, state


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def usual_umask() -> Iterator[None]:
    """The umask most systems give services (files 0644, folders 0755 unless asked)."""
    previous = os.umask(0o022)
    yield
    os.umask(previous)


def test_a_new_instance_is_private(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                   usual_umask: None) -> None:
    instance = tmp_path / "instance"
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    app = create_app()
    migrate.upgrade(state(app).engine)
    with state(app).engine.begin() as connection:  # a write: WAL and shared memory exist now
        connection.execute(text("CREATE TABLE probe (x INTEGER)"))
        database = instance / "portal.sqlite3"
        assert _mode(instance) == 0o700
        assert {name: _mode(instance / name) for name in (
            "portal.sqlite3", "portal.sqlite3-wal", "portal.sqlite3-shm")} == dict.fromkeys(
            ("portal.sqlite3", "portal.sqlite3-wal", "portal.sqlite3-shm"), 0o600)
        assert database.exists()
    state(app).engine.dispose()


def test_a_world_readable_instance_of_an_older_version_is_tightened(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, usual_umask: None) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    database = instance / "portal.sqlite3"
    for name in ("portal.sqlite3", "portal.sqlite3-wal", "portal.sqlite3-shm"):
        (instance / name).touch(mode=0o644)
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    create_app()
    assert _mode(instance) == 0o700
    assert [_mode(instance / name) for name in (
        "portal.sqlite3", "portal.sqlite3-wal", "portal.sqlite3-shm")] == [0o600] * 3
    assert database.stat().st_size == 0


def test_an_engine_on_a_new_sqlite_file_creates_it_private(tmp_path: Path,
                                                           usual_umask: None) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'elsewhere.sqlite3'}")
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))
    engine.dispose()
    assert _mode(tmp_path / "elsewhere.sqlite3") == 0o600
