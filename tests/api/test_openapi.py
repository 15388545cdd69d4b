"""The OpenAPI 3.1 document is valid, the docs page renders it, and the API keeps to it under
schemathesis-generated requests (in-process, on both databases)."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from portal import create_app
from portal.api.openapi import build_spec
from portal.config import DEFAULTS
from portal.db import state
from portal.merchants.models import Merchant
from tests.api.conftest import Caller, invite, make_caller, sign_and_activate
from tests.conftest import CHEAP_PASSWORD_HASHES, app_settings, new_postgres_database
from tests.pgcluster import PostgresCluster


def test_document_is_valid_openapi_3_1(api: Caller) -> None:
    response = api.client.get("/api/v1/openapi.json")
    assert response.status_code == 200 and response.mimetype == "application/json"
    spec = response.get_json()
    OpenAPIV31SpecValidator(spec).validate()
    assert spec["openapi"] == "3.1.0"
    assert set(spec["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]
               ["scopes"]) == {"mandates:read", "mandates:write", "payments:read",
                               "payments:write", "events:read", "billing:read",
                               "billing:write"}
    for name in ("Invitation", "Mandate", "Event", "Problem", "MandateList", "EventList"):
        assert name in spec["components"]["schemas"]
    assert "Idempotency" in spec["info"]["description"]


def test_docs_page_lists_every_operation_with_a_curl_example_and_no_scripts(
        api: Caller) -> None:
    spec = api.client.get("/api/v1/openapi.json").get_json()
    page = api.client.get("/api/v1/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for path, item in spec["paths"].items():
        for operation in item.values():
            assert f'id="{operation["operationId"]}"' in html
            assert path in html
    assert html.count("curl ") >= sum(len(item) for item in spec["paths"].values())
    assert "<script" not in html and "style=" not in html
    assert not re.search(r'(src|href)="(https?:)?//', html), "the docs must work offline"
    css = api.client.get("/api/v1/docs.css")
    assert css.status_code == 200 and css.mimetype == "text/css"


#: The document for the test settings; the test checks the app serves exactly this. (Loaded
#: eagerly: ``schemathesis.pytest.from_fixture`` trips over pytest 9's node ids.)
SPEC = build_spec({**DEFAULTS, "PUBLIC_BASE_URL": "http://localhost"})
schema = schemathesis.openapi.from_dict(SPEC)


@dataclass(frozen=True)
class SeededTemplate:
    """A database (and instance folder) holding merchant A's API client, an invitation and an
    active mandate: made once per module and backend, copied for every test."""

    database: str  # the SQLite file, or the PostgreSQL database to clone
    instance: Path
    merchant_id: str
    client_id: str
    secret: str


def _seed(database_url: str, instance: Path) -> tuple[str, str, str]:
    app = create_app({**app_settings(database_url, instance), **CHEAP_PASSWORD_HASHES})
    try:
        with state(app).factory() as session:
            caller = make_caller(app, session).authorize()
            invite(caller)
            sign_and_activate(app, session, invite(caller)["id"])
            return caller.merchant.public_id, caller.client_id, caller.secret
    finally:
        state(app).dispose()  # no connection may stay open on a PostgreSQL template


@pytest.fixture(scope="module")
def seeded_templates(request: pytest.FixtureRequest,
                     tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict]:
    """Per backend, the seeded database; the signing journey that makes the mandate costs
    about a second of CPU, which 51 operations × 2 databases paid once each."""
    made: dict[str, SeededTemplate] = {}
    yield made
    if "postgresql" in made:
        admin: Engine = request.getfixturevalue("postgres_admin")
        with admin.connect() as connection:
            connection.execute(text(
                f'DROP DATABASE IF EXISTS "{made["postgresql"].database}" WITH (FORCE)'))


def _template(request: pytest.FixtureRequest, backend: str, made: dict) -> SeededTemplate:
    if backend not in made:
        folder = request.getfixturevalue("tmp_path_factory").mktemp(f"openapi-{backend}")
        if backend == "sqlite":
            database = str(folder / "seeded.sqlite3")
            shutil.copyfile(request.getfixturevalue("sqlite_template"), database)
            url = f"sqlite:///{database}"
        else:
            admin: Engine = request.getfixturevalue("postgres_admin")
            cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
            database = f"openapi_seeded_{os.getpid()}"
            with admin.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{database}" TEMPLATE portal_template'))
            url = cluster.url(database)
        made[backend] = SeededTemplate(database, folder / "instance",
                                       *_seed(url, folder / "instance"))
    return made[backend]


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path,
                 seeded_templates: dict) -> str:
    """This module's tests start from a copy of the seeded template (database and instance)."""
    template = _template(request, backend, seeded_templates)
    if template.instance.exists():
        shutil.copytree(template.instance, tmp_path / "instance")
    if backend == "sqlite":
        target = tmp_path / "portal.sqlite3"
        shutil.copyfile(template.database, target)
        return f"sqlite:///{target}"
    return new_postgres_database(request, template.database)


@pytest.fixture
def seeded(app: Flask, session: Session, backend: str, seeded_templates: dict) -> Caller:
    """Some objects to find: an invitation and an active mandate, and a fresh token."""
    template = seeded_templates[backend]
    merchant = session.scalars(select(Merchant).where(
        Merchant.public_id == template.merchant_id)).one()
    return Caller(app.test_client(), merchant, template.client_id, template.secret).authorize()


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck),
          database=None)
@schema.parametrize()
def test_api_never_errors_and_answers_as_documented(case, app: Flask, seeded: Caller) -> None:
    response = case.call(app=app, headers=seeded.headers)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_the_served_document_is_the_one_tested(api: Caller) -> None:
    assert api.client.get("/api/v1/openapi.json").get_json() == SPEC
