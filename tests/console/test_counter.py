"""Counter mode: the invitation or payment request made at the counter, its QR code full screen,
the status the tablet polls as the customer signs or pays, and the result; under the strict CSP
(no inline script), with a refresh for browsers without JavaScript."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.console.counter import invitation_state, request_state
from portal.mandates.models import Invitation
from portal.payments.models import PaymentRequest
from portal.payments.service import record_external_payment, withdraw_payment_request
from portal.qr import qr_inline_svg
from tests.console.test_roles import World, _client
from tests.sign.driver import Journey, csrf_token


@pytest.fixture
def admin(app: Flask, world: World) -> FlaskClient:
    """The tablet, its browser in English (the screen speaks the customer's language:
    test_counter_i18n.py)."""
    client = _client(app, world.staff["merchant_admin"])
    client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "en"
    return client


def _post(client: FlaskClient, path: str, data: dict):
    return client.post(path, data={"csrf_token": csrf_token(client.get("/console/password")),
                                   **data})


def _status(client: FlaskClient, screen: str) -> dict:
    response = client.get(f"{screen}/status")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Cache-Control"] == "no-store"
    return response.get_json()


def test_the_counter_page_offers_both(admin: FlaskClient, world: World) -> None:
    page = admin.get(f"/console/merchants/{world.own.merchant}/counter").get_data(as_text=True)
    assert 'id="counter-invitation"' in page and 'id="counter-payment"' in page
    assert page.count('name="csrf_token"') >= 3  # both forms and the logout button


def test_an_invitation_at_the_counter_until_signed(app: Flask, admin: FlaskClient,
                                                   client: FlaskClient, world: World,
                                                   session: Session) -> None:
    response = _post(admin, f"/console/merchants/{world.own.merchant}/counter/invitations",
                     {"customer_name": "Sam de Vries", "customer_email": "sam@example.org"})
    assert response.status_code == 303
    screen = response.headers["Location"]
    invitation = session.scalars(select(Invitation).order_by(Invitation.id.desc())).first()
    assert screen == f"/console/merchants/{world.own.merchant}/counter/{invitation.public_id}"
    page = admin.get(screen)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-state="waiting"' in html
    assert 'id="counter-qr"' in html and "<svg" in html
    assert re.search(r'<noscript><meta http-equiv="refresh" content="\d+"></noscript>', html)
    assert '<script src="/static/console-counter.js" defer></script>' in html
    assert "<script>" not in html and "style=" not in html  # the CSP allows no inline code
    csp = page.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert f'data-status-url="{screen}/status"' in html
    assert _status(admin, screen) == {"state": "waiting", "final": False,
                                      "label": "Scan the code with your phone"}
    # The customer scans the code: the QR carries the invitation's short link.
    short = re.search(r'class="counter-link console-mono">([^<]+)<', html)[1]
    assert "/s/" in short

    journey = Journey(app, client, session, invitation)
    journey.open()
    assert _status(admin, screen)["state"] == "opened"
    journey.follow(journey.pay("paid"))
    assert _status(admin, screen) == {"state": "signed", "label": "Signed", "final": True}
    done = admin.get(screen).get_data(as_text=True)
    assert 'data-final="true"' in done and ">Signed</p>" in done
    assert 'id="counter-qr"' not in done and "refresh" not in done.split("</head>")[0]
    assert "console-counter.js" not in done  # nothing left to follow


def test_the_counter_qr_code_is_the_short_links(admin: FlaskClient, world: World) -> None:
    """The very SVG of :func:`portal.qr.qr_inline_svg` for the short link shown under it (that
    rendering scans back: tests/test_qr.py; the browser test scans the screen itself)."""
    response = _post(admin, f"/console/merchants/{world.own.merchant}/counter/invitations",
                     {"customer_name": "Sam de Vries"})
    html = admin.get(response.headers["Location"]).get_data(as_text=True)
    short = re.search(r'class="counter-link console-mono">([^<]+)<', html)[1]
    assert "/s/" in short and qr_inline_svg(short) in html


def test_a_payment_at_the_counter_until_paid(admin: FlaskClient, world: World,
                                             session: Session) -> None:
    response = _post(admin, f"/console/merchants/{world.own.merchant}/counter/payment-requests",
                     {"amount": "3,20", "description": "Coffee", "customer_name": "Sam"})
    assert response.status_code == 303
    preq = session.scalars(select(PaymentRequest).order_by(PaymentRequest.id.desc())).first()
    assert preq.amount_cents == 320 and preq.channel == "none"
    screen = response.headers["Location"]
    html = admin.get(screen).get_data(as_text=True)
    assert "Pay €3.20" in html and 'id="counter-qr"' in html and "/s/" in html
    assert _status(admin, screen)["state"] == "waiting"
    record_external_payment(session, preq, 320, method="cash", reference=None, actor="test",
                            now=utcnow())
    session.commit()
    assert _status(admin, screen) == {"state": "paid", "label": "Paid", "final": True}


def test_bad_counter_input_is_422_on_the_field(admin: FlaskClient, world: World,
                                               session: Session) -> None:
    before = session.scalar(select(PaymentRequest.id).order_by(PaymentRequest.id.desc()))
    response = _post(admin, f"/console/merchants/{world.own.merchant}/counter/payment-requests",
                     {"amount": "three", "description": "Coffee", "customer_name": "Sam"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="amount-error"' in html and "Enter an amount in euros" in html
    assert 'id="customer_name-error"' not in html
    session.expire_all()
    assert session.scalar(select(PaymentRequest.id).order_by(PaymentRequest.id.desc())) == before
    response = _post(admin, f"/console/merchants/{world.own.merchant}/counter/invitations",
                     {"customer_name": ""})
    assert response.status_code == 422 and 'id="customer_name-error"' in response.get_data(
        as_text=True)


def test_states_of_an_invitation(session: Session, world: World) -> None:
    invitation = session.scalar(select(Invitation).where(
        Invitation.public_id == world.own.invitation))
    now = utcnow()
    assert invitation_state(session, invitation, now).name == "waiting"
    assert invitation_state(session, invitation, invitation.expires_at).name == "expired"
    invitation.opened_at = now
    assert invitation_state(session, invitation, now).name == "opened"
    invitation.withdrawn_at = now
    assert invitation_state(session, invitation, now).final


@pytest.mark.parametrize(("outcome", "state"), [
    ("failed", "retry"), ("canceled", "retry"), ("expired", "retry"), ("open", "in_progress")])
def test_a_one_cent_attempt_that_did_not_sign_shows_as_such(
        app: Flask, admin: FlaskClient, client: FlaskClient, world: World, session: Session,
        outcome: str, state: str) -> None:
    """Not "confirming" forever: the customer is told to try again on the phone."""
    response = _post(admin, f"/console/merchants/{world.own.merchant}/counter/invitations",
                     {"customer_name": "Sam de Vries"})
    screen = response.headers["Location"]
    invitation = session.scalars(select(Invitation).order_by(Invitation.id.desc())).first()
    journey = Journey(app, client, session, invitation)
    if outcome == "open":
        assert journey.submit().status_code == 303  # at the sandbox's page, not paid yet
    else:
        journey.follow(journey.pay(outcome))
    assert _status(admin, screen)["state"] == state
    assert not _status(admin, screen)["final"]


def test_states_of_a_payment_request(session: Session, world: World) -> None:
    preq = session.scalar(select(PaymentRequest).where(
        PaymentRequest.public_id == world.own.request))
    now = utcnow()
    assert request_state(preq, now).name == "waiting"
    assert request_state(preq, now + timedelta(days=30)).name == "expired"
    record_external_payment(session, preq, 500, method="cash", reference=None, actor="test",
                            now=now)
    session.flush()
    assert request_state(preq, now).name == "partly_paid"
    withdraw_payment_request(session, preq, actor="test", now=now)
    session.flush()
    assert request_state(preq, now).name == "withdrawn" and request_state(preq, now).final


def test_support_may_show_the_screen_but_not_create(app: Flask, world: World) -> None:
    support = _client(app, world.staff["support"])
    screen = f"/console/merchants/{world.own.merchant}/counter/{world.own.invitation}"
    assert support.get(screen).status_code == 200
    assert _status(support, screen)["state"] == "waiting"
    assert _post(support, f"/console/merchants/{world.own.merchant}/counter/invitations",
                 {"customer_name": "Sam"}).status_code == 403


def test_a_signed_out_tablet_gets_no_status(app: Flask, world: World) -> None:
    screen = f"/console/merchants/{world.own.merchant}/counter/{world.own.invitation}"
    response = app.test_client().get(f"{screen}/status")
    assert response.status_code == 302 and "/console/login" in response.headers["Location"]
