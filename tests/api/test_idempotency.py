"""Idempotency-Key: replays, mismatches, concurrent duplicates and expiry, on both databases."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskCliRunner
from sqlalchemy import func, select
from sqlalchemy.orm import Session

import portal.api.views.invitations as invitation_views
from portal.api.models import IdempotencyKey
from portal.clock import utcnow
from portal.mandates.models import Invitation
from tests.api.conftest import Caller, invite

BODY = {"customer": {"name": "Sam de Vries", "email": "sam@example.org"},
        "external_reference": "ERP-1"}


def _invitations(session: Session) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(Invitation))


def test_same_key_and_body_replays_the_first_response(api: Caller, session: Session) -> None:
    first = api.post("/api/v1/invitations", BODY, key="key-1")
    reordered = {"external_reference": "ERP-1",
                 "customer": {"email": "sam@example.org", "name": "Sam de Vries"}}
    again = api.post("/api/v1/invitations", reordered, key="key-1")

    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert _invitations(session) == 1
    assert api.post("/api/v1/invitations", BODY, key="key-2").status_code == 201
    assert _invitations(session) == 2


def test_same_key_with_another_body_or_path_is_422_reused(api: Caller) -> None:
    created = invite(api)
    assert api.post("/api/v1/invitations", BODY, key="k").status_code == 201

    other_body = api.post("/api/v1/invitations", {**BODY, "external_reference": "ERP-2"}, key="k")
    other_path = api.post(f"/api/v1/invitations/{created['id']}/withdraw", key="k")
    for response in (other_body, other_path):
        assert response.status_code == 422
        assert response.get_json()["type"].endswith("/idempotency-key-reused")


def test_error_responses_are_replayed_too(api: Caller) -> None:
    created = invite(api)
    path = f"/api/v1/mandates/{created['mandate']}/revoke"
    first = api.post(path, {"reason": "x"}, key="revoke-1")
    again = api.post(path, {"reason": "x"}, key="revoke-1")
    assert first.status_code == again.status_code == 409
    assert again.get_json() == first.get_json()
    assert again.mimetype == "application/problem+json"
    assert again.headers["Idempotent-Replayed"] == "true"


def test_keys_belong_to_one_merchant(api: Caller, other: Caller, session: Session) -> None:
    assert api.post("/api/v1/invitations", BODY, key="shared").status_code == 201
    response = other.post("/api/v1/invitations", BODY, key="shared")
    assert response.status_code == 201 and "Idempotent-Replayed" not in response.headers
    assert _invitations(session) == 2


def test_a_key_with_a_trailing_newline_is_422(api: Caller) -> None:
    """The test client refuses such a header, a raw HTTP request does not: set the environ."""
    response = api.client.post("/api/v1/invitations", json=BODY, headers=api.headers,
                               environ_overrides={"HTTP_IDEMPOTENCY_KEY": "order-42\n"})
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "Idempotency-Key"


@pytest.mark.parametrize("key", ["", "x" * 256, "tab\there"])
def test_malformed_keys_are_422(api: Caller, key: str) -> None:
    response = api.post("/api/v1/invitations", BODY, key=key)
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "Idempotency-Key"


def _hold_invitations_in_flight(monkeypatch: pytest.MonkeyPatch
                                ) -> tuple[threading.Event, threading.Event]:
    """Make creating an invitation wait (before it writes anything) until released."""
    entered, release = threading.Event(), threading.Event()
    original: Callable[..., Any] = invitation_views.invite_customer

    def held(*args: Any, **kwargs: Any) -> Any:
        entered.set()
        assert release.wait(30), "test never released the first request"
        return original(*args, **kwargs)

    monkeypatch.setattr(invitation_views, "invite_customer", held)
    return entered, release


def test_duplicate_while_the_first_is_in_flight_is_409_then_replayed(
        app: Flask, api: Caller, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    entered, release = _hold_invitations_in_flight(monkeypatch)
    first_client = app.test_client()
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = pool.submit(lambda: first_client.post(
            "/api/v1/invitations", json=BODY,
            headers={**api.headers, "Idempotency-Key": "in-flight"}))
        assert entered.wait(30)
        try:
            duplicate = api.post("/api/v1/invitations", BODY, key="in-flight")
        finally:
            release.set()
        created = first.result(timeout=60)

    assert duplicate.status_code == 409
    assert duplicate.get_json()["type"].endswith("/idempotency-key-in-progress")
    assert duplicate.headers["Retry-After"] == "1"
    assert created.status_code == 201
    replay = api.post("/api/v1/invitations", BODY, key="in-flight")
    assert replay.status_code == 201 and replay.get_json() == created.get_json()
    assert _invitations(session) == 1


def test_racing_duplicates_create_exactly_one_invitation(
        app: Flask, api: Caller, session: Session) -> None:
    racers = 4
    barrier = threading.Barrier(racers)

    def race(_: int) -> tuple[int, Any]:
        client = app.test_client()
        barrier.wait(30)
        response = client.post("/api/v1/invitations", json=BODY,
                               headers={**api.headers, "Idempotency-Key": "race"})
        return response.status_code, response.get_json()

    with ThreadPoolExecutor(max_workers=racers) as pool:
        results = list(pool.map(race, range(racers)))

    statuses = sorted(status for status, _ in results)
    assert set(statuses) <= {201, 409} and 201 in statuses, results
    assert len({body["id"] for status, body in results if status == 201}) == 1
    assert _invitations(session) == 1


def test_a_failed_request_releases_its_key(
        app: Flask, api: Caller, session: Session, monkeypatch: pytest.MonkeyPatch) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False
    monkeypatch.setattr(invitation_views, "invite_customer",
                        lambda *a, **k: (_ for _ in ()).throw(RuntimeError("database gone")))
    assert api.post("/api/v1/invitations", BODY, key="retry-me").status_code == 500
    monkeypatch.undo()
    assert api.post("/api/v1/invitations", BODY, key="retry-me").status_code == 201
    assert _invitations(session) == 1


def test_a_key_older_than_24_hours_can_be_reused_and_is_purged(
        app: Flask, api: Caller, session: Session, runner: FlaskCliRunner) -> None:
    start = utcnow()
    app.config["CLOCK"] = lambda: start
    assert api.post("/api/v1/invitations", BODY, key="old").status_code == 201

    app.config["CLOCK"] = lambda: start + timedelta(hours=23)
    api.authorize()  # tokens last an hour
    assert api.post("/api/v1/invitations", {**BODY, "external_reference": "X"},
                    key="old").status_code == 422
    app.config["CLOCK"] = lambda: start + timedelta(hours=25)
    api.authorize()
    reused = api.post("/api/v1/invitations", {**BODY, "external_reference": "X"}, key="old")
    assert reused.status_code == 201 and "Idempotent-Replayed" not in reused.headers
    assert reused.get_json()["customer"]["external_reference"] == "X"

    assert api.post("/api/v1/invitations", BODY, key="older").status_code == 201
    app.config["CLOCK"] = lambda: start + timedelta(hours=50)
    result = runner.invoke(args=["api", "purge-idempotency-keys"])
    assert result.exit_code == 0, result.output
    assert "purged 2 idempotency keys" in result.output
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0
