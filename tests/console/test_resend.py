"""Sending again from the console: a payment request's link (support may, like an invitation's),
each resend returning to the page its button was on, and only ever to a console page; and the
mandate page's way to the mandate's work page."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.console.return_path import return_path
from portal.events.models import Event
from portal.jobs.models import Job
from portal.payments.models import PaymentRequest
from portal.payments.service import MESSAGE_JOB
from tests.console.test_roles import World, _client
from tests.sign.driver import csrf_token


def _post(client: FlaskClient, path: str, data: dict | None = None):
    token = csrf_token(client.get("/console/password"))
    return client.post(path, data={"csrf_token": token, **(data or {})})


def _request_with_email(app: Flask, world: World, session: Session) -> PaymentRequest:
    admin = _client(app, world.staff["merchant_admin"])
    made = _post(admin, f"/console/merchants/{world.own.merchant}/payment-requests/new", {
        "amount": "42.50", "description": "Contributie maart", "customer_name": "Jan Jansen",
        "customer_email": "jan@example.org", "send_via": "none"})
    assert made.status_code == 303
    return session.scalars(select(PaymentRequest).order_by(PaymentRequest.id.desc())).first()


def test_support_sends_a_payment_request_again_and_returns_to_its_page(
        app: Flask, world: World, session: Session) -> None:
    preq = _request_with_email(app, world, session)
    support = _client(app, world.staff["support"])
    page_path = f"/console/merchants/{world.own.merchant}/payment-requests/{preq.public_id}"
    page = support.get(page_path).get_data(as_text=True)
    assert "Send again by email" in page and f'name="back" value="{page_path}"' in page
    assert 'id="withdraw"' not in page  # support resends; withdrawing is the merchant's work
    response = _post(support, f"{page_path}/resend", {"back": page_path})
    assert response.status_code == 303 and response.headers["Location"] == page_path
    assert "The payment request is on its way again." in support.get(page_path).get_data(
        as_text=True)
    session.expire_all()
    staff = f"staff:{world.staff['support'].user.public_id}"
    actions = {(a.action, a.actor) for a in session.scalars(select(AuditEvent).where(
        AuditEvent.subject == preq.public_id))}
    assert {("payment_request.resend", staff), ("console.resend_payment_request", staff)} <= actions
    assert session.scalar(select(Event).where(Event.type == "payment_request.resent",
                                              Event.subject == preq.public_id)) is not None
    jobs = [job.payload for job in session.scalars(select(Job).where(Job.kind == MESSAGE_JOB))
            if job.payload.get("payment_request") == preq.public_id]
    assert [(p["kind"], p["channel"], "resend" in p) for p in jobs] == [
        ("request", "email", True)]


def test_a_resend_that_cannot_reach_the_customer_says_why_and_sends_nothing(
        app: Flask, world: World, session: Session) -> None:
    support = _client(app, world.staff["support"])
    page_path = f"/console/merchants/{world.own.merchant}/payment-requests/{world.own.request}"
    assert "Send again" not in support.get(page_path).get_data(as_text=True)  # no address
    response = _post(support, f"{page_path}/resend")
    assert response.status_code == 409
    assert "Not sent: the customer has no email address." in response.get_data(as_text=True)
    session.expire_all()
    assert session.scalar(select(Event).where(Event.type == "payment_request.resent")) is None


def test_an_invitation_resent_from_its_page_returns_there_else_to_the_mandate(
        app: Flask, world: World) -> None:
    support = _client(app, world.staff["support"])
    page_path = f"/console/merchants/{world.own.merchant}/invitations/{world.own.invitation}"
    page = support.get(page_path).get_data(as_text=True)
    assert f'name="back" value="{page_path}"' in page
    resend = f"/console/invitations/{world.own.invitation}/resend"
    assert _post(support, resend, {"back": page_path}).headers["Location"] == page_path
    mandate_page = f"/console/mandates/{world.own.mandate}"
    assert _post(support, resend).headers["Location"] == mandate_page
    for hostile in ("https://evil.example/console/", "//evil.example/console/",
                    "/console//evil.example", "/console/\\evil.example", "/consolation"):
        assert _post(support, resend, {"back": hostile}).headers["Location"] == mandate_page


@pytest.mark.parametrize(("back", "kept"), [
    ("/console/mandates/md_1", True),
    ("/console/merchants/mer_1/payment-requests/preq_1?tab=log", True),
    (None, False), ("", False), ("/", False), ("/sign/abc", False),
    ("https://evil.example/console/", False), ("//evil.example/console/", False),
    ("/console//evil.example", False), ("/console/\\\\evil.example", False),
    ("/console/\\evil.example", False), ("/console/\tx", False), ("/console/\nx", False),
    ("/console/" + "a" * 2000, False), ("javascript:alert(1)", False),
])
def test_only_a_console_path_is_returned_to(back: str | None, kept: bool) -> None:
    assert return_path(back, "/console/") == (back if kept else "/console/")


def test_the_mandate_page_links_to_its_work_page_for_who_may_work(
        app: Flask, world: World) -> None:
    admin = _client(app, world.staff["merchant_admin"])
    page = admin.get(f"/console/mandates/{world.own.mandate}").get_data(as_text=True)
    work = f"/console/merchants/{world.own.merchant}/mandates/{world.own.mandate}/work"
    assert f'href="{work}" id="mandate-work-link"' in page
    assert admin.get(work).status_code == 200
    support = _client(app, world.staff["support"])
    page = support.get(f"/console/mandates/{world.own.mandate}").get_data(as_text=True)
    assert 'id="mandate-work-link"' not in page
