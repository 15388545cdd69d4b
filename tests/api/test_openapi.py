"""The OpenAPI 3.1 document is valid, the docs page renders it, and the API keeps to it under
schemathesis-generated requests (in-process, on both databases)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.openapi import build_spec
from portal.config import DEFAULTS
from portal.merchants.models import Merchant
from tests.api.conftest import Caller, invite, make_caller, sign_and_activate
from tests.seeded_template import SeededTemplates, module_templates


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


def _seed(app: Flask, session: Session) -> tuple[str, str, str]:
    """Merchant A's API client, an invitation and an active mandate (the signing journey that
    makes the mandate costs about a second of CPU, which 51 operations × 2 databases paid once
    each): made once per module and backend, copied for every test."""
    caller = make_caller(app, session).authorize()
    invite(caller)
    sign_and_activate(app, session, invite(caller)["id"])
    return caller.merchant.public_id, caller.client_id, caller.secret


@pytest.fixture(scope="module")
def seeded_templates() -> Iterator[SeededTemplates]:
    yield from module_templates("openapi", _seed)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path,
                 seeded_templates: SeededTemplates) -> str:
    """This module's tests start from a copy of the seeded template (database and instance)."""
    return seeded_templates.copy(request, backend, tmp_path)


@pytest.fixture
def seeded(request: pytest.FixtureRequest, app: Flask, session: Session, backend: str,
           seeded_templates: SeededTemplates) -> Caller:
    """Some objects to find: an invitation and an active mandate, and a fresh token."""
    merchant_id, client_id, secret = seeded_templates.template(request, backend).seeded
    merchant = session.scalars(select(Merchant).where(Merchant.public_id == merchant_id)).one()
    return Caller(app.test_client(), merchant, client_id, secret).authorize()


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck),
          database=None)
@schema.parametrize()
def test_api_never_errors_and_answers_as_documented(case, app: Flask, seeded: Caller) -> None:
    response = case.call(app=app, headers=seeded.headers)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_the_served_document_is_the_one_tested(api: Caller) -> None:
    assert api.client.get("/api/v1/openapi.json").get_json() == SPEC
