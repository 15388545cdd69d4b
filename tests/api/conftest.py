"""Fixtures for the merchant API: merchants with API clients, and a caller holding a token."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portal.api.clients import create_client
from portal.mandates.models import Invitation, Mandate
from portal.merchants.models import Merchant
from tests.factories import make_merchant
from tests.sign.driver import Journey

ALL_SCOPES = ("mandates:read mandates:write payments:read payments:write events:read "
              "billing:read billing:write")


def basic(client_id: str, secret: str) -> dict[str, str]:
    credentials = base64.b64encode(f"{client_id}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {credentials}"}


def request_token(client: FlaskClient, client_id: str, secret: str,
                  scope: str | None = None) -> TestResponse:
    data = {"grant_type": "client_credentials"}
    if scope is not None:
        data["scope"] = scope
    return client.post("/api/v1/oauth/token", data=data, headers=basic(client_id, secret))


@dataclass
class Caller:
    """A merchant's integration: its client credentials and a bearer token."""

    client: FlaskClient
    merchant: Merchant
    client_id: str
    secret: str
    token: str = ""
    headers: dict[str, str] = field(default_factory=dict)

    def authorize(self, scope: str | None = None) -> Caller:
        response = request_token(self.client, self.client_id, self.secret, scope)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.token = response.get_json()["access_token"]
        self.headers = {"Authorization": f"Bearer {self.token}"}
        return self

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        return self.client.get(path, headers={**self.headers, **kwargs.pop("headers", {})},
                               **kwargs)

    def post(self, path: str, body: Any = None, *, key: str | None = None,
             **kwargs: Any) -> TestResponse:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        if key is not None:
            headers["Idempotency-Key"] = key
        if body is not None:
            kwargs["json"] = body
        return self.client.post(path, headers=headers, **kwargs)


def make_caller(app: Flask, session: Session, merchant: Merchant | None = None,
                scopes: str = ALL_SCOPES) -> Caller:
    merchant = merchant or make_merchant(session)
    new = create_client(session, merchant, "ERP", scopes)
    session.commit()
    return Caller(app.test_client(), merchant, new.client.client_id, new.secret)


@pytest.fixture
def api(app: Flask, session: Session) -> Caller:
    """Merchant A's integration with every scope and a valid token."""
    return make_caller(app, session).authorize()


@pytest.fixture
def other(app: Flask, session: Session) -> Caller:
    """Merchant B's integration, to prove A never sees B's objects."""
    return make_caller(app, session).authorize()


def invite(caller: Caller, **overrides: Any) -> dict[str, Any]:
    body = {"customer": {"name": "Sam de Vries", "email": "sam@example.org", "locale": "en"},
            **overrides}
    response = caller.post("/api/v1/invitations", body)
    assert response.status_code == 201, response.get_data(as_text=True)
    return response.get_json()


def sign_and_activate(app: Flask, session: Session, invitation_id: str) -> Mandate:
    """Sign the invitation as the customer would, with the sandbox bank paying."""
    invitation = session.scalars(select(Invitation).where(
        Invitation.public_id == invitation_id)).one()
    journey = Journey(app, app.test_client(), session, invitation)
    journey.follow(journey.pay("paid"))
    return journey.mandate()
