"""The login form is rate limited per client address."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask

from portal import create_app
from portal.db import state
from tests.conftest import app_settings
from tests.sign.driver import csrf_token


@pytest.fixture
def limited_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({**app_settings(database_url, tmp_path / "instance"),
                      "RATELIMIT_ENABLED": True})
    yield app
    state(app).dispose()


def test_sixth_login_post_in_a_minute_is_refused(limited_app: Flask) -> None:
    assert limited_app.config["RATELIMIT_CONSOLE_LOGIN"] == "5 per minute"  # the default
    client = limited_app.test_client()
    token = csrf_token(client.get("/console/login"))
    statuses = [client.post("/console/login", data={
        "csrf_token": token, "email": "who@example.org", "password": "guess"}).status_code
        for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    assert int(client.post("/console/login", data={"csrf_token": token}).headers["Retry-After"]) > 0
    assert client.get("/console/login").status_code == 200  # the form still shows
