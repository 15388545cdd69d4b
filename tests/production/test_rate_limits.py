"""Rate limits on opening links and submitting forms: a branded 429 with Retry-After."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import state
from tests.conftest import app_settings
from tests.factories import make_invitation
from tests.sign.driver import Journey, csrf_token


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[Callable[..., Journey]]:
    """A journey on an app built with rate limiting on and the given limits."""
    apps: list[Flask] = []

    def build(**limits: str) -> Journey:
        app = create_app({**app_settings(database_url, tmp_path / "instance"),
                          "RATELIMIT_ENABLED": True,
                          **{f"RATELIMIT_{k}": v for k, v in limits.items()}})
        apps.append(app)
        session: Session = state(app).factory()
        invitation = make_invitation(session)
        session.commit()
        return Journey(app, app.test_client(), session, invitation)

    yield build
    for app in apps:
        state(app).dispose()


def test_opening_links_is_limited(limited) -> None:
    journey = limited(SIGN_OPEN="3 per minute")
    statuses = [journey.open().status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    limited = journey.open()
    assert int(limited.headers["Retry-After"]) > 0
    assert limited.mimetype == "text/html" and b"portal.css" in limited.data


def test_submitting_the_form_is_limited_separately(limited) -> None:
    journey = limited(SIGN_SUBMIT="2 per minute", SIGN_OPEN="100 per minute")
    token = csrf_token(journey.open())
    posts = [journey.client.post(journey.path, data={"csrf_token": token, "iban": "x"})
             .status_code for _ in range(3)]
    assert posts == [422, 422, 429]
    assert journey.open().status_code == 200  # opening is still allowed


def test_limits_are_per_client_address(limited) -> None:
    journey = limited(SIGN_OPEN="1 per minute")
    assert journey.open().status_code == 200
    assert journey.open().status_code == 429
    other = journey.client.get(journey.path, environ_base={"REMOTE_ADDR": "10.9.8.7"})
    assert other.status_code == 200


def test_token_endpoint_is_limited_with_a_problem_response(limited) -> None:
    from portal.api.clients import create_client
    from tests.api.conftest import request_token

    journey = limited(TOKEN="2 per minute")
    created = create_client(journey.session, journey.invitation.merchant, "ERP", "mandates:read")
    journey.session.commit()
    statuses = [request_token(journey.client, created.client.client_id, created.secret).status_code
                for _ in range(3)]
    assert statuses == [200, 200, 429]
    limited_response = request_token(journey.client, created.client.client_id, created.secret)
    assert limited_response.mimetype == "application/problem+json"
    assert limited_response.get_json()["status"] == 429
    assert int(limited_response.headers["Retry-After"]) > 0


def test_revocation_endpoint_is_limited_too(limited) -> None:
    from portal.api.clients import create_client
    from tests.api.conftest import basic

    journey = limited(REVOKE="2 per minute")
    created = create_client(journey.session, journey.invitation.merchant, "ERP", "mandates:read")
    journey.session.commit()
    credentials = basic(created.client.client_id, created.secret)
    responses = [journey.client.post("/api/v1/oauth/revoke", data={"token": "mpat_unknown"},
                                     headers=credentials) for _ in range(3)]
    assert [r.status_code for r in responses] == [200, 200, 429]
    assert responses[-1].mimetype == "application/problem+json"
    assert int(responses[-1].headers["Retry-After"]) > 0
