"""A token sees only its own merchant's objects: another merchant's are 404, like missing ones."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from portal.jobs.service import run_due_jobs
from tests.api.conftest import Caller, invite, sign_and_activate


def _same_as_missing(response, missing) -> None:
    """Same status and body as for an id that does not exist (the path aside)."""
    assert response.status_code == 404
    body, expected = response.get_json(), missing.get_json()
    body.pop("instance"), expected.pop("instance")
    assert body == expected
    assert response.headers.get("WWW-Authenticate") is None


def test_merchant_a_cannot_touch_merchant_bs_objects(
        app: Flask, api: Caller, other: Caller, session: Session) -> None:
    theirs = invite(other)
    signed = invite(other)
    sign_and_activate(app, session, signed["id"])
    run_due_jobs(app)
    assert other.get(f"/api/v1/mandates/{signed['mandate']}/pdf").status_code == 200
    event_id = other.get("/api/v1/events").get_json()["data"][0]["id"]
    missing_md, missing_inv = "md_" + "Z" * 22, "inv_" + "Z" * 22

    checks = [
        (api.get(f"/api/v1/mandates/{theirs['mandate']}"),
         api.get(f"/api/v1/mandates/{missing_md}")),
        (api.get(f"/api/v1/mandates/{signed['mandate']}/pdf"),
         api.get(f"/api/v1/mandates/{missing_md}/pdf")),
        (api.post(f"/api/v1/mandates/{signed['mandate']}/revoke", {"reason": "x"}),
         api.post(f"/api/v1/mandates/{missing_md}/revoke", {"reason": "x"})),
        (api.get(f"/api/v1/invitations/{theirs['id']}"),
         api.get(f"/api/v1/invitations/{missing_inv}")),
        (api.post(f"/api/v1/invitations/{theirs['id']}/withdraw"),
         api.post(f"/api/v1/invitations/{missing_inv}/withdraw")),
        (api.get(f"/api/v1/events/{event_id}"), api.get("/api/v1/events/evt_" + "Z" * 22)),
    ]
    for response, missing in checks:
        _same_as_missing(response, missing)

    assert other.get(f"/api/v1/mandates/{signed['mandate']}").get_json()["status"] == "active"
    assert other.get(f"/api/v1/invitations/{theirs['id']}").get_json()["status"] == "pending"


def test_lists_and_feeds_never_include_the_other_merchants_objects(
        api: Caller, other: Caller) -> None:
    mine = invite(api)
    invite(other)
    invite(other)

    mandates = api.get("/api/v1/mandates").get_json()["data"]
    assert [m["id"] for m in mandates] == [mine["mandate"]]
    events = api.get("/api/v1/events").get_json()["data"]
    assert {e["data"]["mandate"] for e in events} == {mine["mandate"]}
    invited = api.get("/api/v1/mandates?status=invited&limit=100").get_json()["data"]
    assert [m["id"] for m in invited] == [mine["mandate"]]


def test_another_merchants_id_is_not_a_cursor(api: Caller, other: Caller) -> None:
    invite(api)
    theirs = invite(other)
    for query in (f"starting_after={theirs['mandate']}", "starting_after=md_" + "Z" * 22):
        response = api.get(f"/api/v1/mandates?{query}")
        assert response.status_code == 422
        assert response.get_json()["errors"] == [
            {"field": "starting_after", "message": "No object with this id in this list."}]
