"""OpenID Connect sign-in against a provider the test runs locally (tests/console/oidc_provider):
the code flow with PKCE, an RS256 id_token checked for issuer, audience, nonce and expiry; the
address must be verified and of an allowed domain; a claim maps to a role for a new account."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from flask import Flask
from flask.testing import FlaskClient
from joserfc.jwk import RSAKey
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import create_app
from portal.audit.models import AuditEvent
from portal.console.models import ConsoleSession, StaffRole, StaffUser
from portal.db import state
from tests.conftest import app_settings
from tests.console.conftest import log_in_password, make_staff
from tests.console.oidc_provider import Provider
from tests.sign.driver import local


@pytest.fixture
def provider() -> Iterator[Provider]:
    with Provider() as running:
        yield running


@pytest.fixture
def oidc_app(database_url: str, tmp_path: Path, provider: Provider) -> Iterator[Flask]:
    app = create_app({
        **app_settings(database_url, tmp_path / "instance"),
        "CONSOLE_OIDC_ISSUER": provider.issuer,
        "CONSOLE_OIDC_CLIENT_ID": provider.client_id,
        "CONSOLE_OIDC_CLIENT_SECRET": provider.client_secret,
        "CONSOLE_OIDC_ALLOWED_DOMAINS": ["corp.example"],
        "CONSOLE_OIDC_ROLE_CLAIM": "groups",
        "CONSOLE_OIDC_ROLE_MAP": {"portal-admins": {"role": "platform_admin"}},
    })
    yield app
    state(app).dispose()


@pytest.fixture
def db(oidc_app: Flask) -> Iterator[Session]:
    with state(oidc_app).factory() as session:
        yield session


def sign_in(client: FlaskClient, provider: Provider, next_path: str | None = None):
    """Start at the console, go through the provider as a browser would, come back."""
    start = client.get("/console/oidc/login", query_string={"next": next_path} if next_path
                       else None)
    assert start.status_code == 302, start.data[:300]
    assert start.headers["Location"].startswith(f"{provider.issuer}/authorize?")
    answer = httpx.get(start.headers["Location"], follow_redirects=False)
    assert answer.status_code == 302, answer.text
    return client.get(local(answer.headers["location"]))


def test_an_invited_staff_member_signs_in(oidc_app: Flask, provider: Provider,
                                          db: Session) -> None:
    staff = make_staff(db, "ann@corp.example", totp=False)
    client = oidc_app.test_client()
    response = sign_in(client, provider, next_path="/console/staff")
    assert response.status_code == 303 and response.headers["Location"] == "/console/staff"
    assert client.get("/console/").status_code == 200  # no TOTP: the provider stands for it
    db.expire_all()
    record = db.scalars(select(ConsoleSession)).one()
    assert record.method == "oidc" and record.second_factor_at is not None
    assert record.staff_user_id == staff.user.id
    [login] = db.scalars(select(AuditEvent).where(AuditEvent.action == "console.login")).all()
    assert login.data["step"] == "oidc" and login.data["sub"] == "u-1"


def test_a_mapped_claim_makes_a_new_account_with_its_role(oidc_app: Flask, provider: Provider,
                                                          db: Session) -> None:
    provider.next_user = {**provider.next_user, "groups": ["staff", "portal-admins"]}
    client = oidc_app.test_client()
    assert sign_in(client, provider).status_code == 303
    db.expire_all()
    staff = db.scalar(select(StaffUser).where(StaffUser.email == "ann@corp.example"))
    assert staff.role is StaffRole.PLATFORM_ADMIN and staff.name == "Ann Admin"
    assert staff.password_hash == "!"  # no password: it cannot log in with the form
    assert log_in_password(oidc_app.test_client(), "ann@corp.example", "!").status_code == 200


def refused(response, reason: bytes) -> bool:
    return response.status_code == 401 and reason in response.data


def test_an_unknown_address_without_a_mapped_claim_is_refused(
        oidc_app: Flask, provider: Provider, db: Session) -> None:
    client = oidc_app.test_client()
    assert refused(sign_in(client, provider), b"ask to be invited")
    assert client.get("/console/").status_code == 302
    assert db.scalars(select(StaffUser)).all() == []


def test_another_domain_or_an_unverified_address_is_refused(
        oidc_app: Flask, provider: Provider, db: Session) -> None:
    make_staff(db, "ann@corp.example", totp=False)
    make_staff(db, "bob@elsewhere.example", totp=False)
    provider.next_user = {**provider.next_user, "email": "bob@elsewhere.example"}
    assert refused(sign_in(oidc_app.test_client(), provider), b"domain may not sign in")
    provider.next_user = {**provider.next_user, "email": "ann@corp.example",
                          "email_verified": False}
    assert refused(sign_in(oidc_app.test_client(), provider), b"not verified")


@pytest.mark.parametrize("claims", [
    {"iss": "https://evil.example"},
    {"aud": "someone-else"},
    {"nonce": "not-the-one-sent"},
    {"nonce": None},
    {"exp": int(time.time()) - 600},
    {"iat": None},
], ids=["issuer", "audience", "nonce", "no-nonce", "expired", "no-iat"])
def test_an_id_token_with_a_wrong_claim_is_refused(oidc_app: Flask, provider: Provider,
                                                   db: Session, claims: dict) -> None:
    make_staff(db, "ann@corp.example", totp=False)
    provider.tamper = claims
    client = oidc_app.test_client()
    assert refused(sign_in(client, provider), b"could not be verified")
    assert client.get("/console/").status_code == 302


def test_an_id_token_signed_with_another_key_is_refused(oidc_app: Flask, provider: Provider,
                                                        db: Session) -> None:
    make_staff(db, "ann@corp.example", totp=False)
    provider.signing_key = RSAKey.generate_key(2048, parameters={"kid": "test-key-1"})
    assert refused(sign_in(oidc_app.test_client(), provider), b"could not be verified")


def test_the_callback_works_once_and_only_for_its_browser(oidc_app: Flask, provider: Provider,
                                                          db: Session) -> None:
    make_staff(db, "ann@corp.example", totp=False)
    client = oidc_app.test_client()
    start = client.get("/console/oidc/login")
    callback = local(httpx.get(start.headers["Location"]).headers["location"])
    other = oidc_app.test_client()
    assert refused(other.get(callback), b"could not be verified")  # no state in that browser
    assert client.get(callback).status_code == 303
    again = oidc_app.test_client()
    assert refused(again.get(callback), b"could not be verified")


def test_a_discovery_document_naming_another_issuer_is_refused(
        oidc_app: Flask, provider: Provider, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(provider, "issuer", "http://127.0.0.1:1")  # what discovery will say
    oidc_app.config["CONSOLE_OIDC_ISSUER"] = f"http://{provider._server.server_address[0]}:" \
                                             f"{provider._server.server_port}"
    response = oidc_app.test_client().get("/console/oidc/login")
    assert refused(response, b"names another issuer")


def test_without_an_issuer_there_is_no_oidc_sign_in(client: FlaskClient) -> None:
    assert client.get("/console/oidc/login").status_code == 404
    assert b"company account" not in client.get("/console/login").data


def test_a_half_configured_provider_is_refused_at_start(database_url: str,
                                                         tmp_path: Path) -> None:
    from portal.config import ConfigurationError

    settings = {**app_settings(database_url, tmp_path / "instance"),
                "CONSOLE_OIDC_ISSUER": "https://login.corp.example"}
    with pytest.raises(ConfigurationError, match="CLIENT_ID"):
        create_app(settings)
    with pytest.raises(ConfigurationError, match="ROLE_MAP"):
        create_app({**settings, "CONSOLE_OIDC_CLIENT_ID": "x", "CONSOLE_OIDC_CLIENT_SECRET": "y",
                    "CONSOLE_OIDC_ROLE_MAP": {"admins": {"role": "owner"}}})
