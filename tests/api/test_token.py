"""OAuth2 client credentials: who gets a token, for which scopes, and when it stops working."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.auth import token_digest
from portal.api.clients import find_client, revoke_client
from portal.api.models import ApiToken
from portal.clock import utcnow
from tests.api.conftest import Caller, basic, make_caller, request_token


def _problem(response, status: int, kind: str | None = None,
             mimetype: str = "application/problem+json") -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == mimetype
    body = response.get_json()
    if kind is not None:
        assert body["type"].endswith("/" + kind), body
    return body


def test_good_credentials_get_a_bearer_token_stored_only_as_a_hash(
        app: Flask, session: Session) -> None:
    caller = make_caller(app, session, scopes="mandates:read events:read")
    response = request_token(caller.client, caller.client_id, caller.secret)

    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "no-store"
    body = response.get_json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == 3600
    assert body["scope"] == "mandates:read events:read"
    stored = session.scalars(select(ApiToken)).one()
    assert stored.token_sha256 == token_digest(body["access_token"])
    assert body["access_token"] not in {stored.token_sha256, stored.scopes}


def test_client_secret_post_works_too(app: Flask, session: Session) -> None:
    caller = make_caller(app, session)
    response = caller.client.post("/api/v1/oauth/token", data={
        "grant_type": "client_credentials", "client_id": caller.client_id,
        "client_secret": caller.secret})
    assert response.status_code == 200 and response.get_json()["access_token"]


def _oauth_error(response, status: int) -> dict:
    """RFC 6749 §5.2: the token endpoint's errors are application/json."""
    return _problem(response, status, mimetype="application/json")


def test_unknown_client_and_wrong_secret_get_one_answer(app: Flask, session: Session) -> None:
    caller = make_caller(app, session)
    revoked = make_caller(app, session)
    revoke_client(session, find_client(session, revoked.client_id))
    session.commit()
    post = caller.client.post
    failures = {
        "wrong secret": request_token(caller.client, caller.client_id, "sec_wrong"),
        "unknown id": request_token(caller.client, "cli_" + "x" * 22, caller.secret),
        "not an id": request_token(caller.client, "nonsense", caller.secret),
        "revoked": request_token(caller.client, revoked.client_id, revoked.secret),
        "wrong secret, form": post("/api/v1/oauth/token", data={
            "grant_type": "client_credentials", "client_id": caller.client_id,
            "client_secret": "sec_wrong"}),
        "unknown id, form": post("/api/v1/oauth/token", data={
            "grant_type": "client_credentials", "client_id": "cli_" + "x" * 22,
            "client_secret": "sec_wrong"}),
        "undecodable": post("/api/v1/oauth/token", data={"grant_type": "client_credentials"},
                            headers={"Authorization": "Basic //79/Q=="}),
    }
    answers = {name: (r.status_code, r.headers.get("WWW-Authenticate"),
                      {k: v for k, v in _oauth_error(r, 401).items()})
               for name, r in failures.items()}
    assert len({repr(answer) for answer in answers.values()}) == 1, answers
    _, challenge, body = answers["wrong secret"]
    assert challenge == 'Basic realm="mandate-portal"' and body["error"] == "invalid_client"


def test_token_endpoint_errors_are_application_json(app: Flask, session: Session) -> None:
    caller = make_caller(app, session)
    response = caller.client.post("/api/v1/oauth/token", data={"grant_type": "password"},
                                  headers=basic(caller.client_id, caller.secret))
    assert _oauth_error(response, 400)["error"] == "unsupported_grant_type"
    revoke = caller.client.post("/api/v1/oauth/revoke", data={"token": "x"})
    assert revoke.mimetype == "application/json" and revoke.get_json()["error"]


def test_revoked_client_gets_no_token_and_its_tokens_stop_working(
        app: Flask, session: Session) -> None:
    caller = make_caller(app, session).authorize()
    assert caller.get("/api/v1/mandates").status_code == 200

    revoke_client(session, find_client(session, caller.client_id))
    session.commit()

    assert _oauth_error(request_token(caller.client, caller.client_id, caller.secret), 401)
    _problem(caller.get("/api/v1/mandates"), 401, "invalid_token")


def test_expired_token_is_401_with_a_bearer_challenge(app: Flask, session: Session) -> None:
    caller = make_caller(app, session).authorize()
    later = utcnow() + timedelta(seconds=3601)
    app.config["CLOCK"] = lambda: later

    response = caller.get("/api/v1/mandates")
    _problem(response, 401, "invalid_token")
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]


def test_missing_or_malformed_authorization_is_401(app: Flask, session: Session) -> None:
    caller = make_caller(app, session)
    missing = caller.client.get("/api/v1/mandates")
    _problem(missing, 401, "missing_token")
    assert missing.headers["WWW-Authenticate"] == 'Bearer realm="mandate-portal"'
    for header in ("Bearer", "Bearer not-a-token", "Basic abc", "Token x y"):
        response = caller.client.get("/api/v1/mandates", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert response.headers["WWW-Authenticate"].startswith("Bearer")


def test_revoked_token_is_401(app: Flask, session: Session) -> None:
    caller = make_caller(app, session).authorize()
    revoked = caller.client.post("/api/v1/oauth/revoke", data={"token": caller.token},
                                 headers=basic(caller.client_id, caller.secret))
    assert revoked.status_code == 200
    _problem(caller.get("/api/v1/mandates"), 401, "invalid_token")


def test_another_client_cannot_revoke_my_token(app: Flask, session: Session) -> None:
    mine = make_caller(app, session).authorize()
    theirs = make_caller(app, session)
    response = theirs.client.post("/api/v1/oauth/revoke", data={"token": mine.token},
                                  headers=basic(theirs.client_id, theirs.secret))
    assert response.status_code == 400
    assert mine.get("/api/v1/mandates").status_code == 200


def test_scope_narrowing_and_wrong_scope_is_403_insufficient_scope(
        app: Flask, session: Session) -> None:
    caller = make_caller(app, session).authorize("mandates:read")
    assert caller.get("/api/v1/mandates").status_code == 200

    response = caller.post("/api/v1/invitations", {"customer": {"name": "Sam"}})
    body = _problem(response, 403, "insufficient_scope")
    assert "mandates:write" in body["detail"]
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    _problem(caller.get("/api/v1/events"), 403, "insufficient_scope")


def test_scopes_beyond_the_clients_or_unknown_ones_are_refused(
        app: Flask, session: Session) -> None:
    caller = make_caller(app, session, scopes="mandates:read")
    for scope in ("mandates:read mandates:write", "payments:read", "admin"):
        body = _oauth_error(request_token(caller.client, caller.client_id, caller.secret, scope),
                            400)
        assert body["error"] == "invalid_scope"


def test_other_grant_types_are_refused(app: Flask, session: Session) -> None:
    caller = make_caller(app, session)
    response = caller.client.post("/api/v1/oauth/token", data={"grant_type": "password"},
                                  headers=basic(caller.client_id, caller.secret))
    assert _oauth_error(response, 400)["error"] == "unsupported_grant_type"


def test_token_of_the_right_client_carries_its_merchant(api: Caller, session: Session) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(api.token)))
    assert token.client.merchant_id == api.merchant.id
