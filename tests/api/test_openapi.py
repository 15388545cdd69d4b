"""The OpenAPI 3.1 document is valid, the docs page renders it, and the API keeps to it under
schemathesis-generated requests (in-process, on both databases)."""

from __future__ import annotations

import re

import pytest
import schemathesis
from flask import Flask
from hypothesis import HealthCheck, settings
from openapi_spec_validator import OpenAPIV31SpecValidator
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from sqlalchemy.orm import Session

from portal.api.openapi import build_spec
from portal.config import DEFAULTS
from tests.api.conftest import Caller, invite, sign_and_activate


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


@pytest.fixture
def seeded(app: Flask, api: Caller, session: Session) -> Caller:
    """Some objects to find: an invitation and an active mandate."""
    invite(api)
    sign_and_activate(app, session, invite(api)["id"])
    return api


@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck),
          database=None)
@schema.parametrize()
def test_api_never_errors_and_answers_as_documented(case, app: Flask, seeded: Caller) -> None:
    response = case.call(app=app, headers=seeded.headers)
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])


def test_the_served_document_is_the_one_tested(api: Caller) -> None:
    assert api.client.get("/api/v1/openapi.json").get_json() == SPEC
