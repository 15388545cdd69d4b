"""Invitations through the API: create, email, read, withdraw."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.events.models import Event
from portal.jobs.models import Job
from portal.jobs.service import run_due_jobs
from portal.mandates.models import Customer, Invitation, Mandate, MandateStatus
from portal.shortlinks.models import ShortLink
from tests.api.conftest import Caller, invite, sign_and_activate
from tests.reconfigure import reconfigure


def _outbox(app: Flask) -> list[Path]:
    folder = Path(app.instance_path) / "outbox"
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def test_create_returns_the_invitation_with_signing_link_and_qr_codes(
        app: Flask, api: Caller) -> None:
    body = invite(api, scheme="CORE", sequence_type="one_off", external_reference="CUST-7",
                  expires_in_days=7)

    assert body["id"].startswith("inv_") and body["object"] == "invitation"
    assert body["mandate"].startswith("md_") and body["status"] == "pending"
    assert body["customer"]["name"] == "Sam de Vries"
    assert body["customer"]["external_reference"] == "CUST-7"
    assert body["customer"]["id"].startswith("cus_")
    assert body["signing_url"].startswith("http://localhost/sign/")
    assert body["qr_png_url"] == body["signing_url"] + "/qr.png"
    assert body["qr_svg_url"] == body["signing_url"] + "/qr.svg"
    assert body["send_via"] == "none" and body["expires_at"].endswith("Z")
    page = api.client.get(body["signing_url"].removeprefix("http://localhost"))
    assert page.status_code == 200
    qr = api.client.get(body["qr_png_url"].removeprefix("http://localhost"))
    assert qr.mimetype == "image/png"
    mandate = api.get(f"/api/v1/mandates/{body['mandate']}").get_json()
    assert mandate["sequence_type"] == "one_off" and mandate["status"] == "invited"
    assert _outbox(app) == []


def test_b2b_is_refused_without_bank_signing_with_a_reason_and_nothing_is_written(
        app: Flask, api: Caller, session: Session) -> None:
    def count() -> dict[str, int]:
        return {model.__tablename__: session.scalar(select(func.count()).select_from(model))
                for model in (Customer, Mandate, Invitation, Event, AuditEvent, Job, ShortLink)}

    reconfigure(app, BANK="none")
    before = count()
    response = api.post("/api/v1/invitations", {"customer": {"name": "Bakkerij B.V."},
                                                "scheme": "B2B"})
    assert response.status_code == 422
    problem = response.get_json()
    assert problem["type"].endswith("/scheme-not-offered")
    assert "debtor's bank" in problem["detail"] and "one-cent payment" in problem["detail"]
    assert "not configured" in problem["detail"]
    assert problem["errors"] == [{"field": "scheme", "message": problem["detail"]}]
    session.expire_all()
    assert count() == before


def test_b2b_is_invited_to_sign_at_the_bank_and_never_with_a_cent(
        api: Caller, session: Session) -> None:
    created = api.post("/api/v1/invitations", {"customer": {"name": "Bakkerij B.V."},
                                               "scheme": "B2B"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["signing_methods"] == ["bank_emandate"]
    before = session.scalar(select(func.count()).select_from(Mandate))
    refused = api.post("/api/v1/invitations", {
        "customer": {"name": "Bakkerij B.V."}, "scheme": "B2B",
        "signing_methods": ["bank_emandate", "payment_verification"]})
    assert refused.status_code == 422
    [error] = refused.get_json()["errors"]
    assert error["field"] == "signing_methods" and "payment_verification" in error["message"]
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Mandate)) == before


def test_created_invitation_has_a_location_also_when_replayed(api: Caller) -> None:
    first = api.post("/api/v1/invitations", {"customer": {"name": "Sam"}}, key="create-1")
    assert first.status_code == 201
    location = first.headers["Location"]
    assert location == f"http://localhost/api/v1/invitations/{first.get_json()['id']}"
    assert api.get(location.removeprefix("http://localhost")).get_json() == first.get_json()
    replay = api.post("/api/v1/invitations", {"customer": {"name": "Sam"}}, key="create-1")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.headers["Location"] == location


def test_expires_at_is_kept(api: Caller) -> None:
    when = (datetime.now(UTC) + timedelta(days=3)).replace(microsecond=0)
    body = invite(api, expires_at=when.isoformat().replace("+00:00", "Z"))
    assert body["expires_at"] == when.strftime("%Y-%m-%dT%H:%M:%SZ")


def test_send_via_email_writes_the_localised_email_then_emits_invitation_sent(
        app: Flask, api: Caller, session: Session) -> None:
    body = invite(api, customer={"name": "Sam de Vries", "email": "sam@example.org",
                                 "locale": "nl"}, send_via="email")
    assert _outbox(app) == []

    assert run_due_jobs(app) == 1
    [path] = _outbox(app)
    message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert message["To"] == "Sam de Vries <sam@example.org>"
    assert message["Subject"].endswith("vraagt u een machtiging voor automatische incasso te "
                                       "tekenen")
    text = message.get_body(("plain",)).get_content()
    assert body["signing_url"] in text and "Machtiging tekenen" in text
    html = message.get_body(("html",)).get_content()
    assert body["signing_url"] in html
    sent = session.scalars(select(Event).where(Event.type == "invitation.sent")).one()
    assert sent.subject == body["id"] and sent.data["channel"] == "email"
    feed = api.get("/api/v1/events?type=invitation.sent").get_json()
    assert [e["data"]["invitation"] for e in feed["data"]] == [body["id"]]


def test_send_via_email_needs_an_email_and_sms_is_not_configured(
        app: Flask, api: Caller) -> None:
    response = api.post("/api/v1/invitations", {"customer": {"name": "Sam"}, "send_via": "email"})
    assert response.status_code == 422
    assert response.get_json()["errors"] == [{"field": "customer.email",
                                              "message": "Required when send_via is email."}]
    reconfigure(app, SMS_TRANSPORT="none")  # SMS turned off (tests/sms covers it turned on)
    response = api.post("/api/v1/invitations", {
        "customer": {"name": "Sam", "phone": "+31612345678"}, "send_via": "sms"})
    assert response.status_code == 422
    body = response.get_json()
    assert body["title"] == "SMS delivery is not configured"
    assert body["type"].endswith("/sms-not-configured")
    assert body["errors"][0]["field"] == "send_via"


def test_get_shows_the_invitation_opened_after_the_customer_opens_it(api: Caller) -> None:
    created = invite(api)
    api.client.get(created["signing_url"].removeprefix("http://localhost"))
    body = api.get(f"/api/v1/invitations/{created['id']}").get_json()
    assert body["status"] == "opened" and body["opened_at"].endswith("Z")
    assert body["signing_url"] == created["signing_url"]


def test_withdraw_stops_the_link_and_cancels_the_mandate(
        api: Caller, session: Session) -> None:
    created = invite(api)
    response = api.post(f"/api/v1/invitations/{created['id']}/withdraw")

    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "withdrawn" and body["withdrawn_at"].endswith("Z")
    mandate = api.get(f"/api/v1/mandates/{created['mandate']}").get_json()
    assert mandate["status"] == MandateStatus.CANCELLED.value
    page = api.client.get(created["signing_url"].removeprefix("http://localhost"))
    assert page.status_code == 410
    types = [e["type"] for e in api.get("/api/v1/events").get_json()["data"]]
    assert types == ["mandate.created", "mandate.cancelled", "invitation.withdrawn"]

    again = api.post(f"/api/v1/invitations/{created['id']}/withdraw")
    assert again.status_code == 409 and again.get_json()["type"].endswith("/invalid-state")


def test_withdraw_after_signing_is_an_invalid_state(
        app: Flask, api: Caller, session: Session) -> None:
    created = invite(api)
    sign_and_activate(app, session, created["id"])
    response = api.post(f"/api/v1/invitations/{created['id']}/withdraw", {})
    assert response.status_code == 409
    assert response.get_json()["detail"] == "Cannot cancel a mandate that is active."
    assert api.get(f"/api/v1/invitations/{created['id']}").get_json()["status"] == "used"


def test_withdraw_takes_no_fields(api: Caller, session: Session) -> None:
    created = invite(api)
    response = api.post(f"/api/v1/invitations/{created['id']}/withdraw", {"reason": "x"})
    assert response.status_code == 422
    assert session.scalar(select(Invitation.withdrawn_at).where(
        Invitation.public_id == created["id"])) is None
