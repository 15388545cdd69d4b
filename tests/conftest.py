"""Fixtures: the app on a fresh database per test, on SQLite always and PostgreSQL when installed."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

from portal import create_app, migrate
from portal.db import make_engine, state
from signing import load_or_create_development_pki
from tests import compile_cache, routing_cache, template_cache
from tests.pgcluster import PostgresCluster, find_pg_bin

routing_cache.install()  # one compile of each URL builder per process, not per app (see module)
template_cache.install()  # one compile of each template per process, not per app (see module)
compile_cache.install()  # one compile of each SQL statement per process and backend (see module)


def _memory_temp_root() -> None:
    """Temporary files (tmp_path, the PostgreSQL cluster) in RAM when the machine has a tmpfs.

    Every test copies a database and commits to it; on disk each commit is an fsync, and every
    PostgreSQL test database is ~600 files to copy and delete. ``PORTAL_TEST_TMPDIR`` overrides;
    an explicit ``--basetemp`` still wins for tmp_path."""
    chosen = os.environ.get("PORTAL_TEST_TMPDIR")
    if chosen is None:
        shm = Path("/dev/shm")
        if not (shm.is_dir() and os.access(shm, os.W_OK)):
            return
        usage = shutil.disk_usage(shm)
        if usage.free < 2 * 1024**3:
            return
        chosen = str(shm)
    tempfile.tempdir = chosen


_memory_temp_root()

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]
#: Modules that prove pages, headers, translations and texts — nothing a database does
#: differently — run on SQLite only. Everything touching transitions, locking, constraints,
#: migrations or queries stays on both backends (tests/README.md, "Speed").
SQLITE_ONLY = frozenset({
    "tests/mail/test_headers.py",
    "tests/payments/test_i18n.py",
    "tests/production/test_headers.py",
    "tests/production/test_logs.py",
    "tests/production/test_metrics.py",
    "tests/production/test_sandbox_rule.py",
    "tests/sign/test_embed.py",
    "tests/sign/test_i18n.py",
    "tests/sign/test_page_cache.py",
    "tests/sms/test_messages.py",
    "tests/test_home.py",
    "tests/test_template_cache.py",
})
ROOT = Path(__file__).resolve().parent.parent
_database_numbers = itertools.count()
#: The sandbox bank's keys, generated once per test process instead of once per test.
SANDBOX_BANK_KEYS = Path(tempfile.mkdtemp(prefix="sandbox-bank-keys-"))
_development_pki: Path | None = None  # one per test process, see development_pki()
#: The suite's development CA and TSA are valid from then (ten years on).
PKI_SINCE = datetime(2025, 1, 1, tzinfo=UTC)


#: The longest modules (subprocesses, whole collection cycles, a month's books) are handed to
#: the xdist workers first, so that neither is left running one of them after the other has
#: finished (the browser tests come first anyway: xdist starts with the largest group).
RUN_FIRST = (
    "tests/production/test_gunicorn_postgres.py",
    "tests/production/test_gunicorn_preload.py",
    "tests/collections/test_provider_route.py",
    "tests/bookkeeping/test_report.py",
    "tests/test_run_like_make.py",
    "tests/api/test_cli.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Tests of :data:`RUN_FIRST` first, in their order; the rest as collected."""
    rank = {module: number for number, module in enumerate(RUN_FIRST)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(RUN_FIRST)))


@pytest.hookimpl(tryfirst=True)
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Tests in SQLITE_ONLY get ``backend`` parametrised with SQLite alone."""
    if "backend" not in metafunc.fixturenames:
        return
    already = any("backend" in str(marker.args[0])
                  for marker in metafunc.definition.iter_markers("parametrize"))
    if not already and Path(metafunc.definition.path).relative_to(ROOT).as_posix() in SQLITE_ONLY:
        metafunc.definition.add_marker(
            pytest.mark.parametrize("backend", ["sqlite"], indirect=True, ids=["sqlite"]))


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    bin_dir = find_pg_bin()
    if bin_dir is None:
        pytest.skip("PostgreSQL is not installed; `make test` installs it (as root) through "
                    "scripts/install-system-deps.sh")
    cluster = PostgresCluster(bin_dir).start()
    yield cluster
    cluster.stop()


@pytest.fixture(scope="session")
def postgres_admin(postgres_cluster: PostgresCluster) -> Iterator[Engine]:
    """An autocommit engine on the cluster, with a migrated template database to copy."""
    admin = create_engine(postgres_cluster.url(), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text("CREATE DATABASE portal_template"))
    engine = make_engine(postgres_cluster.url("portal_template"))
    migrate.upgrade(engine)
    engine.dispose()
    yield admin
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("sqlite-template") / "template.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    engine.dispose()
    return path


def new_postgres_database(request: pytest.FixtureRequest, template: str | None) -> str:
    """A database of the test's own, dropped after it (the cluster stays small and quick)."""
    admin: Engine = request.getfixturevalue("postgres_admin")
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    name = f"test_{os.getpid()}_{next(_database_numbers)}"
    with admin.connect() as connection:
        clause = f" TEMPLATE {template}" if template else ""
        connection.execute(text(f'CREATE DATABASE "{name}"{clause}'))
    request.addfinalizer(lambda: _drop_database(admin, name))
    return cluster.url(name)


def _drop_database(admin: Engine, name: str) -> None:
    # FORCE ends connections a test left open (its app's engine is disposed before this runs).
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def migrated_database(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A copy of the migrated template, the test's own (for modules overriding database_url)."""
    if backend == "sqlite":
        target = tmp_path / "portal.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), target)
        return f"sqlite:///{target}"
    return new_postgres_database(request, "portal_template")


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A migrated database of its own for this test."""
    return migrated_database(request, backend, tmp_path)


@pytest.fixture
def empty_database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
    """A database with no tables at all, for migration tests."""
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'empty.sqlite3'}"
    return new_postgres_database(request, None)


@pytest.fixture(scope="session", autouse=True)
def development_pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One development CA and TSA per test process (RSA keys are slow to make per app), valid
    from :data:`PKI_SINCE`: tests run on clocks set back (collections in March 2026), and the
    seals and timestamps they make must be valid then."""
    global _development_pki
    path = tmp_path_factory.mktemp("development-pki")
    load_or_create_development_pki(path, now=PKI_SINCE)
    _development_pki = path
    return path


def app_settings(database_url: str, instance: Path) -> dict:
    shared = {"DEVELOPMENT_PKI_PATH": str(_development_pki)} if _development_pki else {}
    return {
        **shared,
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "DATA_KEY": "test-data-key",
        "AUDIT_KEY": "test-audit-key",
        "INSTANCE_PATH": str(instance),
        "PUBLIC_BASE_URL": "http://localhost",
        # Limits are proven in tests/test_rate_limits.py; elsewhere they would only get in the way.
        "RATELIMIT_ENABLED": False,
        "SANDBOX_BANK_KEYS_PATH": str(SANDBOX_BANK_KEYS),
    }


#: Argon2id at its cheapest for the suite's staff logins (one hash costs ~40 ms of CPU at the
#: production parameters, which tests/console/test_login.py proves are OWASP's and which
#: production refuses to lower). Only the ``app`` fixture's apps use these.
CHEAP_PASSWORD_HASHES = {"CONSOLE_ARGON2_TIME_COST": 1, "CONSOLE_ARGON2_MEMORY_KIB": 8,
                         "CONSOLE_ARGON2_PARALLELISM": 1}


@pytest.fixture
def app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({**app_settings(database_url, tmp_path / "instance"), **CHEAP_PASSWORD_HASHES})
    yield app
    state(app).dispose()


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def runner(app: Flask) -> FlaskCliRunner:
    return app.test_cli_runner()


@pytest.fixture
def session(app: Flask) -> Iterator[Session]:
    """A session outside any request; tests commit what they want views to see."""
    with state(app).factory() as session:
        yield session


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def journey(app: Flask, client: FlaskClient, session: Session):
    """A fresh invitation and a driver that signs it like a customer's browser."""
    from tests.factories import make_invitation
    from tests.sign.driver import Journey

    invitation = make_invitation(session)
    session.commit()
    return Journey(app, client, session, invitation)
