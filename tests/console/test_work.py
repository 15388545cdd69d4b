"""Work from the dashboard: each form goes through the API's own function, so what it creates is
what the API would create; bad input answers 422 with the message on the field, never a 500,
and writes nothing; each action is audited with the staff member."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.collections.models import Debit
from portal.collections.service import configure_collections
from portal.invoices.models import Invoice
from portal.jobs.models import Job
from portal.mandates.models import (
    Invitation,
    InvitationChannel,
    InvitationPurpose,
    Mandate,
    MandateStatus,
)
from portal.merchants.models import Merchant
from portal.payments.models import PaymentRequest, RequestStatus
from portal.subscriptions.models import Subscription
from tests.console.conftest import Staff
from tests.console.test_roles import World, _client
from tests.factories import make_invitation
from tests.sign.driver import Journey, csrf_token


@pytest.fixture
def admin(app: Flask, world: World) -> FlaskClient:
    return _client(app, world.staff["merchant_admin"])


def _post(client: FlaskClient, path: str, data: dict) -> object:
    token = csrf_token(client.get("/console/password"))
    return client.post(path, data={"csrf_token": token, **data})


def _errors(response) -> str:
    """The error box of a form page, for an assertion's message."""
    text = response.get_data(as_text=True)
    start = text.find('id="work-errors"')
    return text[start:start + 600] if start >= 0 else text[:600]


def _count(session: Session, model: type) -> int:
    session.expire_all()
    return session.scalar(select(func.count()).select_from(model))


def _audited(session: Session, staff: Staff, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(
        AuditEvent.actor == f"staff:{staff.user.public_id}", AuditEvent.action == action)))


def test_an_invitation_shown_as_qr_code(admin: FlaskClient, world: World, session: Session,
                                        ) -> None:
    m = world.own.merchant
    response = _post(admin, f"/console/merchants/{m}/invitations/new", {
        "customer_name": "Jan Jansen", "customer_email": "jan@example.org", "scheme": "CORE",
        "send_via": "none"})
    assert response.status_code == 303, _errors(response)
    page = admin.get(response.headers["Location"])
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "Jan Jansen" in text
    assert 'id="invitation-qr"' in text and "<svg" in text and "/s/" in text
    assert 'data-state="waiting"' in text
    invitation = session.scalars(select(Invitation).order_by(Invitation.id.desc())).first()
    assert invitation.channel is InvitationChannel.NONE
    assert invitation.mandate.customer.name == "Jan Jansen"
    [event] = _audited(session, world.staff["merchant_admin"], "console.create_invitation")
    assert event.subject == invitation.public_id and event.data["staff"]
    assert _audited(session, world.staff["merchant_admin"], "mandate.create")  # the service's


def test_an_invitation_sent_by_email_is_queued(admin: FlaskClient, world: World,
                                               session: Session) -> None:
    response = _post(admin, f"/console/merchants/{world.own.merchant}/invitations/new", {
        "customer_name": "Jan Jansen", "customer_email": "jan@example.org",
        "send_via": "email", "expires_in_days": "7"})
    assert response.status_code == 303
    invitation = session.scalars(select(Invitation).order_by(Invitation.id.desc())).first()
    assert invitation.channel is InvitationChannel.EMAIL
    assert session.scalar(select(func.count()).select_from(Job).where(
        Job.kind == "mail.invitation")) >= 1


def test_an_invitation_sent_by_sms_or_refused_without_a_number(
        app: Flask, admin: FlaskClient, world: World, session: Session) -> None:
    from tests.reconfigure import reconfigure

    path = f"/console/merchants/{world.own.merchant}/invitations/new"
    missing = _post(admin, path, {"customer_name": "Jan", "send_via": "sms"})
    assert missing.status_code == 422
    assert "Required when send_via is sms." in missing.get_data(as_text=True)
    sent = _post(admin, path, {"customer_name": "Jan", "customer_phone": "+31 6 12345678",
                               "send_via": "sms"})
    assert sent.status_code == 303, _errors(sent)
    invitation = session.scalars(select(Invitation).order_by(Invitation.id.desc())).first()
    assert invitation.channel is InvitationChannel.SMS
    reconfigure(app, SMS_TRANSPORT="none")
    off = _post(admin, path, {"customer_name": "Jan", "customer_phone": "+31612345678",
                              "send_via": "sms"})
    assert off.status_code == 422
    assert 'id="send_via-error"' in off.get_data(as_text=True)


@pytest.mark.parametrize(("form", "field", "message"), [
    ({"customer_name": ""}, "customer_name", "This field is required."),
    ({"customer_name": "Jan", "send_via": "email"}, "customer_email",
     "Required when send_via is email."),
    ({"customer_name": "Jan", "customer_email": "not an address"}, "customer_email", ""),
    ({"customer_name": "Jan", "expires_in_days": "soon"}, "expires_in_days",
     "Enter a whole number."),
    ({"customer_name": "Jan", "expires_in_days": "400"}, "expires_in_days", ""),
    ({"customer_name": "Jan", "scheme": "SEPA-XYZ"}, "scheme", "Choose one of the options."),
    ({"customer_name": "Jan", "customer_phone": "12"}, "customer_phone", ""),
    ({"customer_name": "\u202eJan"}, "customer_name", ""),
])
def test_bad_invitation_input_is_422_on_the_field(admin: FlaskClient, world: World,
                                                  session: Session, form: dict, field: str,
                                                  message: str) -> None:
    before = _count(session, Invitation)
    response = _post(admin, f"/console/merchants/{world.own.merchant}/invitations/new", form)
    assert response.status_code == 422
    text = response.get_data(as_text=True)
    assert f'id="{field}-error"' in text and f'aria-describedby="{field}-error"' in text
    assert message in text
    assert _count(session, Invitation) == before


def test_a_form_without_csrf_token_is_refused(admin: FlaskClient, world: World,
                                              session: Session) -> None:
    before = _count(session, Invitation)
    response = admin.post(f"/console/merchants/{world.own.merchant}/invitations/new",
                          data={"customer_name": "Jan"})
    assert response.status_code == 400
    assert _count(session, Invitation) == before


def test_withdraw_an_invitation_and_then_again(admin: FlaskClient, world: World,
                                               session: Session) -> None:
    path = f"/console/merchants/{world.own.merchant}/invitations/{world.own.invitation}"
    assert _post(admin, f"{path}/withdraw", {}).status_code == 303
    session.expire_all()
    invitation = session.scalar(select(Invitation).where(
        Invitation.public_id == world.own.invitation))
    assert invitation.withdrawn_at is not None
    assert invitation.mandate.status is MandateStatus.CANCELLED
    assert 'data-state="withdrawn"' in admin.get(path).get_data(as_text=True)
    again = _post(admin, f"{path}/withdraw", {})
    assert again.status_code == 409 and "Not withdrawn" in again.get_data(as_text=True)
    assert _audited(session, world.staff["merchant_admin"], "console.withdraw_invitation")


def test_a_payment_request_with_its_qr_code_then_withdrawn(admin: FlaskClient, world: World,
                                                           session: Session) -> None:
    m = world.own.merchant
    response = _post(admin, f"/console/merchants/{m}/payment-requests/new", {
        "amount": "42,50", "description": "Contributie maart", "customer_name": "Jan Jansen",
        "customer_email": "jan@example.org", "send_via": "none"})
    assert response.status_code == 303, _errors(response)
    preq = session.scalars(select(PaymentRequest).order_by(PaymentRequest.id.desc())).first()
    assert preq.amount_cents == 4250 and preq.status is RequestStatus.OPEN
    page = admin.get(response.headers["Location"]).get_data(as_text=True)
    assert "€ 42.50" in page and 'id="request-qr"' in page and "/s/" in page
    assert _post(admin, f"/console/merchants/{m}/payment-requests/{preq.public_id}/withdraw",
                 {}).status_code == 303
    session.expire_all()
    assert session.get(PaymentRequest, preq.id).status is RequestStatus.WITHDRAWN
    again = _post(admin, f"/console/merchants/{m}/payment-requests/{preq.public_id}/withdraw",
                  {})
    assert again.status_code == 409
    staff = world.staff["merchant_admin"]
    assert _audited(session, staff, "console.create_payment_request")
    assert _audited(session, staff, "console.withdraw_payment_request")


@pytest.mark.parametrize(("form", "field"), [
    ({"amount": "12.345", "description": "x", "customer_name": "Jan"}, "amount"),
    ({"amount": "-3", "description": "x", "customer_name": "Jan"}, "amount"),
    ({"amount": "0", "description": "x", "customer_name": "Jan"}, "amount"),
    ({"amount": "1000000", "description": "x", "customer_name": "Jan"}, "amount"),
    ({"amount": "5", "description": "", "customer_name": "Jan"}, "description"),
    ({"amount": "5", "description": "x", "customer_name": "Jan", "due_date": "31-02-2030"},
     "due_date"),
    ({"amount": "5", "description": "x", "customer_name": "Jan", "send_via": "email"},
     "customer_email"),
])
def test_bad_payment_request_input_is_422_on_the_field(admin: FlaskClient, world: World,
                                                       session: Session, form: dict,
                                                       field: str) -> None:
    before = _count(session, PaymentRequest)
    response = _post(admin, f"/console/merchants/{world.own.merchant}/payment-requests/new",
                     form)
    assert response.status_code == 422
    assert f'id="{field}-error"' in response.get_data(as_text=True)
    assert _count(session, PaymentRequest) == before


@pytest.fixture
def active(journey: Journey, world: World, session: Session) -> Mandate:
    """An active mandate of the world's own merchant (signed through the sandbox)."""
    own = session.scalar(select(Merchant).where(Merchant.public_id == world.own.merchant))
    journey.invitation.merchant_id = own.id
    journey.invitation.mandate.merchant_id = own.id
    journey.invitation.mandate.customer.merchant_id = own.id
    configure_collections(session, own.id, actor="test", creditor_iban="NL91ABNA0417164300",
                          creditor_bic="ABNANL2A")
    session.commit()
    journey.follow(journey.pay("paid"))
    mandate = journey.mandate()
    assert mandate.status is MandateStatus.ACTIVE and mandate.merchant_id == own.id
    return mandate


def test_a_debit_on_an_active_mandate(admin: FlaskClient, world: World, active: Mandate,
                                      session: Session) -> None:
    path = f"/console/merchants/{world.own.merchant}/mandates/{active.public_id}"
    assert admin.get(f"{path}/work").status_code == 200
    response = _post(admin, f"{path}/debits", {"amount": "19.99", "description": "Maart"})
    assert response.status_code == 303, _errors(response)
    [debit] = session.scalars(select(Debit).where(Debit.mandate_id == active.id)).all()
    assert debit.amount_cents == 1999
    assert _audited(session, world.staff["merchant_admin"], "console.create_debit")
    bad = _post(admin, f"{path}/debits", {"amount": "19.99", "description": "Maart",
                                          "collection_date": "someday"})
    assert bad.status_code == 422
    assert 'id="collection_date-error"' in bad.get_data(as_text=True)


def test_a_debit_on_a_mandate_not_active_is_refused(admin: FlaskClient, world: World,
                                                    session: Session) -> None:
    path = f"/console/merchants/{world.own.merchant}/mandates/{world.own.mandate}"
    response = _post(admin, f"{path}/debits", {"amount": "5", "description": "Maart"})
    assert response.status_code == 422
    assert "Debit" in response.get_data(as_text=True) or "mandate" in response.get_data(
        as_text=True)
    assert _count(session, Debit) == 0


def test_revoke_and_amend(admin: FlaskClient, world: World, active: Mandate,
                          session: Session) -> None:
    path = f"/console/merchants/{world.own.merchant}/mandates/{active.public_id}"
    amended = _post(admin, f"{path}/amendment", {})
    assert amended.status_code == 303
    invitation = session.scalars(select(Invitation).where(
        Invitation.purpose == InvitationPurpose.AMEND)).one()
    assert invitation.mandate_id == active.id
    assert "Amend the mandate at the bank" in admin.get(amended.headers["Location"]).get_data(
        as_text=True)
    too_long = _post(admin, f"{path}/revoke", {"reason": "x" * 141})
    assert too_long.status_code == 422
    assert _post(admin, f"{path}/revoke", {"reason": "Contract ended"}).status_code == 303
    session.expire_all()
    assert session.get(Mandate, active.id).status is MandateStatus.REVOKED
    assert _post(admin, f"{path}/revoke", {}).status_code == 409
    assert _post(admin, f"{path}/amendment", {}).status_code == 409
    staff = world.staff["merchant_admin"]
    assert _audited(session, staff, "console.revoke_mandate")
    assert _audited(session, staff, "console.request_amendment")


def test_amendment_without_bank_signing_is_422(app: Flask, admin: FlaskClient, world: World,
                                               active: Mandate) -> None:
    from tests.reconfigure import reconfigure

    reconfigure(app, BANK="none")
    response = _post(admin, f"/console/merchants/{world.own.merchant}/mandates/"
                     f"{active.public_id}/amendment", {})
    assert response.status_code == 422 and "not configured" in response.get_data(as_text=True)


def test_an_invoice_and_its_errors(admin: FlaskClient, world: World,
                                   session: Session) -> None:
    path = f"/console/merchants/{world.own.merchant}/invoices/new"
    assert admin.get(path).status_code == 200
    response = _post(admin, path, {"customer_name": "Jan Jansen",
                                   "customer_email": "jan@example.org",
                                   "description": "Coaching", "amount": "121", "vat_rate": "21"})
    assert response.status_code == 303, _errors(response)
    [invoice] = session.scalars(select(Invoice)).all()
    assert invoice.amount_cents == 12100
    assert _audited(session, world.staff["merchant_admin"], "console.create_invoice")
    for form, field in (({"description": "x", "amount": "5"}, "customer_name"),
                        ({"customer_name": "Jan", "description": "x", "amount": "5",
                          "vat_rate": "abc"}, "vat_rate"),
                        ({"customer_name": "Jan", "description": "x", "amount": "5",
                          "mandate": "md_doesnotexist"}, "mandate"),
                        ({"customer_name": "Jan", "customer_id": "cus_x", "description": "x",
                          "amount": "5"}, "customer_name")):
        bad = _post(admin, path, form)
        assert bad.status_code == 422, form
        assert f'id="{field}-error"' in bad.get_data(as_text=True), form
    assert _count(session, Invoice) == 1


def test_a_subscription_on_a_plan(admin: FlaskClient, world: World, session: Session) -> None:
    from portal.clock import utcnow
    from portal.subscriptions.models import Interval
    from portal.subscriptions.service import PlanSpec, create_plan

    own = session.scalar(select(Merchant).where(Merchant.public_id == world.own.merchant))
    plan = create_plan(session, own, PlanSpec(name="Monthly", amount_cents=1500,
                                              interval=Interval.MONTHLY), actor="test", now=utcnow())
    session.commit()
    path = f"/console/merchants/{world.own.merchant}/subscriptions/new"
    assert plan.public_id in admin.get(path).get_data(as_text=True)
    bad = _post(admin, path, {"plan": "plan_notthemerchants", "customer_name": "Jan"})
    assert bad.status_code == 422 and 'id="plan-error"' in bad.get_data(as_text=True)
    response = _post(admin, path, {"plan": plan.public_id, "customer_name": "Jan Jansen",
                                   "customer_email": "jan@example.org"})
    assert response.status_code == 303, _errors(response)
    assert _count(session, Subscription) == 1
    assert _audited(session, world.staff["merchant_admin"], "console.create_subscription")


def test_the_work_page_lists_what_is_open(admin: FlaskClient, world: World) -> None:
    page = admin.get(f"/console/merchants/{world.own.merchant}/work").get_data(as_text=True)
    assert world.own.invitation in page and world.other.invitation not in page
    dashboard = admin.get(f"/console/merchants/{world.own.merchant}/").get_data(as_text=True)
    assert 'id="work-link"' in dashboard


def test_support_sees_an_invitation_but_may_only_resend(app: Flask, world: World,
                                                        session: Session) -> None:
    support = _client(app, world.staff["support"])
    page = support.get(f"/console/merchants/{world.own.merchant}/invitations/"
                       f"{world.own.invitation}").get_data(as_text=True)
    assert "Send again by email" in page and 'id="withdraw"' not in page
    dashboard = support.get(f"/console/merchants/{world.own.merchant}/").get_data(as_text=True)
    assert 'id="work-link"' not in dashboard


def test_another_merchants_objects_are_404(admin: FlaskClient, world: World,
                                           session: Session) -> None:
    other = make_invitation(session, session.scalar(select(Merchant).where(
        Merchant.public_id == world.other.merchant)))
    session.commit()
    own = world.own.merchant
    for path in (f"/console/merchants/{own}/invitations/{other.public_id}",
                 f"/console/merchants/{own}/mandates/{other.mandate.public_id}/work",
                 f"/console/merchants/{own}/counter/{other.public_id}",
                 f"/console/merchants/{own}/counter/{other.public_id}/status",
                 f"/console/merchants/{own}/payment-requests/preq_doesnotexist"):
        assert admin.get(path).status_code == 404, path


@pytest.mark.parametrize(("path", "field", "rest"), [
    ("invitations/new", "customer_name", {"send_via": "none"}),
    ("payment-requests/new", "description", {"amount": "5", "customer_name": "Jan"}),
])
def test_hostile_input_is_stored_as_text_and_shown_escaped(admin: FlaskClient, world: World,
                                                           session: Session, path: str,
                                                           field: str, rest: dict) -> None:
    from tests.console.payloads import PAYLOADS, UNESCAPED_MARKERS

    others = _count(session, Merchant)
    for payload in PAYLOADS:
        response = _post(admin, f"/console/merchants/{world.own.merchant}/{path}",
                         {**rest, field: payload})
        assert response.status_code in (303, 422), (payload, response.status_code)
        page = (admin.get(response.headers["Location"]) if response.status_code == 303
                else response).get_data(as_text=True)
        assert not any(marker in page for marker in UNESCAPED_MARKERS), payload
        assert ">49<" not in page
    assert _count(session, Merchant) == others
