"""``/`` is a small portal home, not a stock 404: the links a developer needs in development,
nothing revealing in production; and there is a favicon."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.db import state
from tests.conftest import app_settings


def test_development_home_links_what_matters(client: FlaskClient) -> None:
    page = client.get("/")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for link in ('href="/console/"', 'href="/api/v1/docs"', 'href="/api/v1/openapi.json"',
                 'href="/healthz"'):
        assert link in text, link
    assert ".venv/bin/flask --app portal demo" in text


@pytest.fixture
def production_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({**app_settings(database_url, tmp_path / "instance"), "ENV": "production",
                      "SECRET_KEY": secrets.token_urlsafe(32), "DATA_KEY": secrets.token_urlsafe(32),
                      "AUDIT_KEY": secrets.token_urlsafe(32),
                      "PAYMENT_PROVIDER": "mollie", "MOLLIE_API_KEY": "live_abcdefghijkl",
                      "PUBLIC_BASE_URL": "https://portal.example"})
    yield app
    state(app).engine.dispose()


def test_production_home_reveals_nothing(production_app: Flask) -> None:
    page = production_app.test_client().get("/", base_url="https://portal.example")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    assert "open the link from the email or text message" in text
    for hidden in ("/console", "/api", "healthz", "Development", "flask", "PORTAL_"):
        assert hidden not in text, hidden


def test_the_home_is_translated(client: FlaskClient) -> None:
    assert "open de link" in client.get("/?lang=nl").get_data(as_text=True)


def test_favicon(client: FlaskClient) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200 and icon.data.startswith(b"\x00\x00\x01\x00")
    assert icon.mimetype in ("image/vnd.microsoft.icon", "image/x-icon")
    assert 'rel="icon" href="/static/favicon.svg"' in client.get("/").get_data(as_text=True)
    svg = client.get("/static/favicon.svg")
    assert svg.status_code == 200 and svg.mimetype == "image/svg+xml"
