"""Staff invited by email: the mail (through the app's mail transport) carries a signed link that
expires and works once; accepting it makes the account with the role and merchants chosen, and
the first login's TOTP enrolment follows. Every step is in the audit trail."""

from __future__ import annotations

import email
import email.policy
import re
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

import pyotp
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.console.models import StaffInvite, StaffRole, StaffUser
from portal.jobs.service import run_due_jobs
from portal.merchants.models import Merchant
from tests.console.conftest import Staff, enter_code, log_in, make_staff
from tests.factories import make_merchant
from tests.sign.driver import csrf_token, local

NEW_PASSWORD = "a password for the new one"


def outbox(app: Flask) -> list[EmailMessage]:
    folder = Path(app.instance_path) / "outbox"
    return [email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            for path in sorted(folder.glob("*.eml"))]


@pytest.fixture
def merchant(session: Session) -> Merchant:
    merchant = make_merchant(session)
    session.commit()
    return merchant


@pytest.fixture
def admin(app: Flask, session: Session) -> FlaskClient:
    staff = make_staff(session, "platform@example.org")
    client = app.test_client()
    assert log_in(client, staff.email, staff.password, staff=staff).status_code == 303
    return client


def invite(client: FlaskClient, address: str, role: str, merchants: list[str]):
    token = csrf_token(client.get("/console/staff"))
    return client.post("/console/staff", data={"csrf_token": token, "email": address,
                                               "role": role, "merchants": merchants})


def mailed_link(app: Flask) -> str:
    run_due_jobs(app)
    [message] = outbox(app)
    body = message.get_content()
    return local(re.search(r"http://localhost/console/invites/\S+", body).group(0))


def accept(client: FlaskClient, link: str, name: str = "Nina New", password: str = NEW_PASSWORD):
    page = client.get(link)
    assert page.status_code == 200, page.data[:300]
    return client.post(link, data={"csrf_token": csrf_token(page), "name": name,
                                   "password": password, "confirm": password})


def test_an_invited_person_joins_and_sets_up_totp(app: Flask, admin: FlaskClient,
                                                  merchant: Merchant, session: Session) -> None:
    response = invite(admin, "Nina@Shop.example", "support", [merchant.public_id])
    assert response.status_code == 303
    assert b"on its way to nina@shop.example" in admin.get(response.headers["Location"]).data
    assert outbox(app) == []  # sent by the worker, not inside the request
    link = mailed_link(app)
    [mail] = outbox(app)
    assert mail["To"] == "nina@shop.example" and "console" in mail["Subject"]

    newcomer = app.test_client()
    joined = accept(newcomer, link)
    assert joined.status_code == 303 and joined.headers["Location"] == "/console/second-factor"
    page = newcomer.get("/console/second-factor").get_data(as_text=True)
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', page).group(1)
    done = enter_code(newcomer, pyotp.TOTP(secret).now())
    assert done.status_code == 200 and b"recovery codes" in done.data
    assert newcomer.get(f"/console/merchants/{merchant.public_id}/").status_code == 200
    assert newcomer.get(f"/console/merchants/{merchant.public_id}/settings").status_code == 403

    session.expire_all()
    staff = session.scalar(select(StaffUser).where(StaffUser.email == "nina@shop.example"))
    assert staff.role is StaffRole.SUPPORT and staff.merchant_ids == {merchant.id}
    assert staff.name == "Nina New" and staff.password_hash.startswith("$argon2id$")
    actions = session.scalars(select(AuditEvent.action).order_by(AuditEvent.seq)).all()
    for action in ("console.staff_invite", "console.staff_invite_sent",
                   "console.staff_invite_accept", "console.staff_create"):
        assert action in actions


def test_the_link_works_once(app: Flask, admin: FlaskClient, merchant: Merchant,
                             session: Session) -> None:
    invite(admin, "nina@shop.example", "merchant_admin", [merchant.public_id])
    link = mailed_link(app)
    assert accept(app.test_client(), link).status_code == 303
    again = app.test_client().get(link)
    assert again.status_code == 410 and b"used already" in again.data
    session.expire_all()
    assert len(session.scalars(select(StaffUser).where(
        StaffUser.email == "nina@shop.example")).all()) == 1


def test_an_open_page_cannot_be_submitted_twice(app: Flask, admin: FlaskClient,
                                                merchant: Merchant) -> None:
    """Two browsers opened the link before either submitted: one account, the other 410."""
    invite(admin, "nina@shop.example", "support", [merchant.public_id])
    link = mailed_link(app)
    first, second = app.test_client(), app.test_client()
    pages = [client.get(link) for client in (first, second)]
    answers = [client.post(link, data={"csrf_token": csrf_token(page), "name": "Nina",
                                       "password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
               for client, page in zip((first, second), pages, strict=True)]
    assert [a.status_code for a in answers] == [303, 410]


def test_an_expired_or_altered_link_is_refused(app: Flask, admin: FlaskClient,
                                               merchant: Merchant, session: Session) -> None:
    invite(admin, "nina@shop.example", "support", [merchant.public_id])
    link = mailed_link(app)
    token = link.rsplit("/", 1)[1]
    payload, signature = token.rsplit(".", 1)
    swapped = "A" if signature[5] != "A" else "B"  # inside the signature, not its padding bits
    altered = f"{link.rsplit('/', 1)[0]}/{payload}.{signature[:5]}{swapped}{signature[6:]}"
    assert b"not valid" in app.test_client().get(altered).data
    assert app.test_client().get(altered).status_code == 410
    start = utcnow()
    app.config["CLOCK"] = lambda: start + timedelta(days=7, minutes=1)
    expired = app.test_client().get(link)
    assert expired.status_code == 410 and b"expired" in expired.data
    assert session.scalars(select(StaffInvite.accepted_at)).all() == [None]


def test_an_invitation_link_is_no_signing_link(app: Flask, admin: FlaskClient,
                                               merchant: Merchant) -> None:
    """Its own salt: the invitation's token does not open a signing page."""
    invite(admin, "nina@shop.example", "support", [merchant.public_id])
    link = mailed_link(app)
    assert app.test_client().get(f"/sign/{link.rsplit('/', 1)[1]}").status_code == 400


def test_accepting_needs_csrf_and_a_long_password(app: Flask, admin: FlaskClient,
                                                  merchant: Merchant) -> None:
    invite(admin, "nina@shop.example", "support", [merchant.public_id])
    link = mailed_link(app)
    client = app.test_client()
    assert client.post(link, data={"name": "Nina", "password": NEW_PASSWORD,
                                   "confirm": NEW_PASSWORD}).status_code == 400
    short = accept(client, link, password="short")
    assert short.status_code == 422 and b"at least 12" in short.data
    assert accept(client, link).status_code == 303


def test_an_address_with_an_account_is_not_invited_again(app: Flask, admin: FlaskClient,
                                                         merchant: Merchant,
                                                         session: Session) -> None:
    existing: Staff = make_staff(session, "sam@shop.example", role=StaffRole.SUPPORT,
                                 merchants=[merchant])
    response = invite(admin, existing.email, "support", [merchant.public_id])
    assert response.status_code == 422 and b"already has a console account" in response.data
    bad = invite(admin, "not an address", "support", [merchant.public_id])
    assert bad.status_code == 422 and b"valid email" in bad.data
