"""In production only PUBLIC_BASE_URL's host (and EXTRA_TRUSTED_HOSTS) is answered: another Host
header gets a clear 400, never a redirect that reflects it (``/console`` → ``/console/``)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from portal.db import state
from tests.conftest import app_settings


@pytest.fixture
def production(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({
        **app_settings(database_url, tmp_path / "instance"), "ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32), "DATA_KEY": secrets.token_urlsafe(32),
        "AUDIT_KEY": secrets.token_urlsafe(32),
        "PUBLIC_BASE_URL": "https://portal.example", "SANDBOX_IN_PRODUCTION": True,
        "EXTRA_TRUSTED_HOSTS": ["portal-internal.lan"]})
    yield app
    state(app).engine.dispose()


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("path", ["/console", "/console/", "/healthz", "/sign/x", "/nowhere"])
def test_a_foreign_host_gets_400_and_is_never_reflected(production: Flask, path: str) -> None:
    response = production.test_client().get(path, headers={"Host": "evil.example"})
    assert response.status_code == 400
    assert "evil.example" not in response.headers.get("Location", "")
    assert response.mimetype == "text/html" and "evil.example" not in response.get_data(True)
    assert "400" in response.get_data(as_text=True)


@pytest.mark.parametrize("backend", ["sqlite"])
def test_under_the_api_the_400_is_a_problem(production: Flask) -> None:
    response = production.test_client().get("/api/v1/mandates", headers={"Host": "evil.example"})
    assert response.status_code == 400 and response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 400


@pytest.mark.parametrize("backend", ["sqlite"])
@pytest.mark.parametrize("host", ["portal.example", "portal.example:443", "portal-internal.lan"])
def test_the_public_host_and_the_extra_ones_are_answered(production: Flask, host: str) -> None:
    client = production.test_client()
    redirect = client.get("/console", headers={"Host": host})
    assert redirect.status_code == 308
    assert redirect.headers["Location"].split("/")[2] == host
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


@pytest.mark.parametrize("backend", ["sqlite"])
def test_development_answers_any_host(app: Flask) -> None:
    assert app.test_client().get("/healthz", headers={"Host": "evil.example"}).status_code == 200
