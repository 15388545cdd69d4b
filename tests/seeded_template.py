"""A costly seeded state built once per module and backend, copied for every test.

``SeededTemplates(name, seed)`` runs ``seed(app, session)`` once per backend in an app of its
own (on a copy of the migrated template), keeps that database and instance folder, and gives each
test a copy: a SQLite file copy, or PostgreSQL ``CREATE DATABASE … TEMPLATE``. Every test thus
starts from the same state the fixture used to rebuild per test (README, "How the suite stays
fast"). ``seed`` returns what the tests need to find their objects again (public ids, the
clock's time); it must leave no connection open.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import state
from tests.conftest import CHEAP_PASSWORD_HASHES, app_settings, new_postgres_database
from tests.pgcluster import PostgresCluster

Seed = Callable[[Flask, Session], Any]


@dataclass(frozen=True)
class Template:
    database: str  # the SQLite file, or the PostgreSQL database to clone
    instance: Path
    seeded: Any  # what ``seed`` returned


def module_templates(name: str, seed: Seed) -> Iterator[SeededTemplates]:
    """The body of a module-scoped fixture: ``yield from module_templates("world", seed)``;
    the templates are dropped when the module is done, whatever its tests did."""
    templates = SeededTemplates(name, seed)
    try:
        yield templates
    finally:
        templates.drop()


class SeededTemplates:
    """Per backend, one seeded database; ``drop()`` at the end of the module."""

    def __init__(self, name: str, seed: Seed) -> None:
        self.name = name
        self.seed = seed
        self.made: dict[str, Template] = {}
        self._admin: Engine | None = None

    def template(self, test: pytest.FixtureRequest, backend: str) -> Template:
        if backend not in self.made:
            folder = test.getfixturevalue("tmp_path_factory").mktemp(
                f"{self.name}-{backend}")
            if backend == "sqlite":
                database = str(folder / "seeded.sqlite3")
                shutil.copyfile(test.getfixturevalue("sqlite_template"), database)
                url = f"sqlite:///{database}"
            else:
                admin = self._admin = test.getfixturevalue("postgres_admin")
                cluster: PostgresCluster = test.getfixturevalue("postgres_cluster")
                database = f"{self.name}_seeded_{os.getpid()}"
                with admin.connect() as connection:
                    connection.execute(text(
                        f'CREATE DATABASE "{database}" TEMPLATE portal_template'))
                url = cluster.url(database)
            instance = folder / "instance"
            app = create_app({**app_settings(url, instance), **CHEAP_PASSWORD_HASHES})
            try:
                with app.app_context(), state(app).factory() as session:
                    seeded = self.seed(app, session)
            finally:
                state(app).dispose()  # no connection may stay open on a PostgreSQL template
            self.made[backend] = Template(database, instance, seeded)
        return self.made[backend]

    def copy(self, test: pytest.FixtureRequest, backend: str, tmp_path: Path) -> str:
        """A database URL of the test's own holding the seeded state (and its instance);
        ``test`` is the test's request (its PostgreSQL copy is dropped after it)."""
        template = self.template(test, backend)
        if template.instance.exists():
            shutil.copytree(template.instance, tmp_path / "instance")
        if backend == "sqlite":
            target = tmp_path / "portal.sqlite3"
            shutil.copyfile(template.database, target)
            return f"sqlite:///{target}"
        return new_postgres_database(test, template.database)

    def drop(self) -> None:
        if "postgresql" in self.made and self._admin is not None:
            with self._admin.connect() as connection:
                connection.execute(text(
                    f'DROP DATABASE IF EXISTS "{self.made["postgresql"].database}" WITH (FORCE)'))
