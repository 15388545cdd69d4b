"""``send_via: sms`` through the merchant API, end to end: the text holds the short link and
the short link reaches the signing page."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.events.models import Event
from portal.jobs.service import run_due_jobs
from portal.mandates.models import DeliveryState, Invitation
from tests.api.conftest import make_caller
from tests.mail.conftest import Clock
from tests.sms.gateway_stub import GatewayStub

SAM = {"name": "Sam de Vries", "phone": "+31 6 1234 5678", "locale": "nl"}


def _sms_files(app: Flask) -> list[Path]:
    folder = Path(app.instance_path) / "outbox"
    return sorted(folder.glob("*.sms.txt")) if folder.exists() else []


def test_sms_invitation_texts_the_short_link_which_opens_the_signing_page(
        app: Flask, session: Session, clock: Clock) -> None:
    api = make_caller(app, session).authorize()
    response = api.post("/api/v1/invitations", {"customer": SAM, "send_via": "sms"})
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert body["send_via"] == "sms" and body["delivery_status"] == "queued"
    assert re.fullmatch(r"http://localhost/s/[0-9A-Za-z]{10}", body["short_url"])

    assert run_due_jobs(app) == 1
    [path] = _sms_files(app)
    content = path.read_text()
    assert content.startswith("To: +31612345678\nSegments: 1 (GSM-7,")
    assert "vraagt u een machtiging voor automatische incasso te tekenen" in content
    assert body["short_url"] in content

    opened = api.client.get(urlsplit(body["short_url"]).path)
    assert opened.status_code == 303
    assert opened.headers["Location"] == body["signing_url"]
    page = api.client.get(urlsplit(opened.headers["Location"]).path)
    assert page.status_code == 200

    after = api.get(f"/api/v1/invitations/{body['id']}").get_json()
    assert after["delivery_status"] == "sent" and after["status"] == "opened"
    assert after["sent_at"] is not None and after["reminder_days"] == [3, 7]
    sent = session.scalars(select(Event).where(Event.type == "invitation.sent")).one()
    assert sent.data == {"invitation": body["id"], "mandate": body["mandate"], "channel": "sms"}


def test_bad_or_missing_numbers_are_422(app: Flask, session: Session) -> None:
    api = make_caller(app, session).authorize()
    cases = [
        ({"name": "Sam"}, "customer.phone", "Required when send_via is sms."),
        ({"name": "Sam", "phone": "0612345678"}, "customer.phone",
         "Must be an international number like +31612345678 (E.164)."),
        ({"name": "Sam", "phone": "+31 6 1234"}, "customer.phone",
         "Not a valid phone number for its country."),
        ({"name": "Sam", "phone": "+31 20 123 4567"}, "customer.phone",
         "This number cannot receive text messages."),
    ]
    for customer, field, message in cases:
        response = api.post("/api/v1/invitations", {"customer": customer, "send_via": "sms"})
        assert response.status_code == 422, customer
        assert {"field": field, "message": message} in response.get_json()["errors"]


def test_phone_numbers_are_kept_in_e164(app: Flask, session: Session) -> None:
    api = make_caller(app, session).authorize()
    body = api.post("/api/v1/invitations", {"customer": {"name": "Sam",
                                                         "phone": "0049 151 2345 6789"}}
                    ).get_json()
    invitation = session.scalar(select(Invitation).where(Invitation.public_id == body["id"]))
    assert invitation.mandate.customer.phone == "+4915123456789"


def test_a_gateway_refusal_fails_the_delivery_and_a_5xx_is_retried(
        app: Flask, session: Session, clock: Clock, http_sms: GatewayStub) -> None:
    api = make_caller(app, session).authorize()
    http_sms.status = 503
    retried = api.post("/api/v1/invitations", {"customer": SAM, "send_via": "sms"}).get_json()
    run_due_jobs(app)
    waiting = api.get(f"/api/v1/invitations/{retried['id']}").get_json()
    assert waiting["delivery_status"] == "queued"
    assert waiting["delivery_error"].startswith("sms: HTTP 503")

    http_sms.status = 201
    clock.advance(seconds=60)
    assert run_due_jobs(app) == 1
    assert api.get(f"/api/v1/invitations/{retried['id']}").get_json()["delivery_status"] == \
        "sent"
    assert [r.body["recipients"] for r in http_sms.requests] == [["31612345678"]] * 2

    http_sms.status = 422
    refused = api.post("/api/v1/invitations", {"customer": SAM, "send_via": "sms"}).get_json()
    run_due_jobs(app)
    invitation = session.scalar(select(Invitation).where(Invitation.public_id == refused["id"]))
    assert invitation.delivery_status == DeliveryState.FAILED
    assert invitation.delivery_error == "sms: HTTP 422: no (correct) recipients found"
    failed = session.scalars(select(Event).where(Event.type == "invitation.delivery_failed",
                                                 Event.subject == refused["id"])).one()
    assert failed.data["channel"] == "sms"
    clock.advance(days=1)
    assert run_due_jobs(app) == 0  # not retried
