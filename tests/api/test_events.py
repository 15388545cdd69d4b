"""The event feed: oldest first, continued after the last event seen, never repeating."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.api.pagination import encode_cursor
from tests.api.conftest import Caller, invite, sign_and_activate
from tests.factories import make_invitation


def test_feed_continues_after_the_last_event_without_gaps_or_repeats(
        api: Caller, session: Session) -> None:
    mandates = [make_invitation(session, api.merchant).mandate.public_id for _ in range(7)]
    session.commit()

    seen, after = [], None
    while True:
        query = "limit=3" + (f"&after={after}" if after else "")
        body = api.get(f"/api/v1/events?{query}").get_json()
        seen += body["data"]
        if not body["data"]:
            break
        after = body["data"][-1]["id"]

    assert [e["data"]["mandate"] for e in seen] == mandates
    assert all(e["object"] == "event" and e["type"] == "mandate.created" for e in seen)
    assert all(e["created_at"].endswith("Z") for e in seen)


def test_next_cursor_always_says_where_to_poll_from(api: Caller) -> None:
    invite(api)
    first = api.get("/api/v1/events").get_json()
    assert first["has_more"] is False and first["next_cursor"]
    assert api.get(f"/api/v1/events?cursor={first['next_cursor']}").get_json()["data"] == []

    second = invite(api)
    newer = api.get(f"/api/v1/events?cursor={first['next_cursor']}").get_json()
    assert [e["data"]["mandate"] for e in newer["data"]] == [second["mandate"]]


def test_events_follow_the_mandate_through_signing(
        app: Flask, api: Caller, session: Session) -> None:
    created = invite(api)
    sign_and_activate(app, session, created["id"])
    types = [e["type"] for e in api.get("/api/v1/events").get_json()["data"]]
    assert types[0] == "mandate.created" and types[-1] == "mandate.active"
    assert "mandate.signed" in types

    one = api.get("/api/v1/events?type=mandate.active").get_json()["data"][0]
    assert api.get(f"/api/v1/events/{one['id']}").get_json() == one
    assert one["data"] == {"mandate": created["mandate"], "status": "active",
                           "previous_status": "awaiting_verification"}


def test_after_and_cursor_cannot_both_be_given(api: Caller) -> None:
    created = invite(api)
    event = api.get("/api/v1/events").get_json()["data"][0]["id"]
    response = api.get(f"/api/v1/events?after={event}&starting_after={event}")
    assert response.status_code == 422
    assert {e["field"] for e in response.get_json()["errors"]} == {"after", "starting_after"}
    assert created


@pytest.mark.parametrize("param", ["after", "starting_after", "cursor"])
def test_an_unknown_anchor_is_reported_under_the_parameter_sent(api: Caller, param: str) -> None:
    unknown = "evt_" + "Z" * 22
    value = encode_cursor(unknown) if param == "cursor" else unknown
    response = api.get(f"/api/v1/events?{param}={value}")
    assert response.status_code == 422
    assert response.get_json()["errors"] == [
        {"field": param, "message": "No object with this id in this list."}]


def test_an_unknown_mandate_cursor_is_reported_as_the_cursor(api: Caller) -> None:
    response = api.get(f"/api/v1/mandates?cursor={encode_cursor('md_' + 'Z' * 22)}")
    assert response.status_code == 422
    assert response.get_json()["errors"][0]["field"] == "cursor"
