""""Pay this and future invoices": a first payment that signs a Core mandate exactly as the Core
journey does (paying account as IBAN of record, mandate text, consent, evidence, sealed PDF) or
stores a card token; later requests charged on them without the customer, with the pay link
when a card is refused."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.documents.service import mandate_pdf, read_pdf
from portal.jobs.service import run_due_jobs
from portal.mandates.models import Mandate, MandateStatus, SigningMethod
from portal.mandates.service import debtor_iban
from portal.merchants.models import Merchant
from portal.payments.models import (
    PaymentMessage,
    ProviderMandate,
    RequestStatus,
    SetsUp,
    StoredMandateStatus,
)
from portal.providers.base import PaymentStatus
from portal.sandbox.models import SandboxPayment
from signing import verify
from tests.payments.conftest import event_types, make_request
from tests.payments.driver import Checkout
from tests.sign.driver import csrf_token

S = RequestStatus
PAYING_ACCOUNT = "NL18 RABO 0123 4598 76"


@pytest.fixture
def checkout(app: Flask, client: FlaskClient, session: Session, merchant: Merchant) -> Checkout:
    return Checkout(app, client, session, make_request(session, merchant, amount_cents=2500,
                                                       offer_mandate=True))


def test_paying_by_ideal_with_future_invoices_gives_an_active_core_mandate_with_sealed_pdf(
        app: Flask, checkout: Checkout) -> None:
    page = checkout.open("?lang=en").get_data(as_text=True)
    assert "Pay this and future invoices" in page and "8 weeks" in page  # the mandate text
    done = checkout.pay("ideal", payer_iban=PAYING_ACCOUNT, set_up="y", consent="y",
                        follow=True).get_data(as_text=True)
    assert 'id="mandate-active"' in done
    [payment] = checkout.payments()
    assert payment.sets_up is SetsUp.SEPA_MANDATE and payment.status is PaymentStatus.PAID
    mandate = checkout.session.get(Mandate, payment.mandate_id)
    assert mandate.status is MandateStatus.ACTIVE
    assert mandate.signing_method is SigningMethod.PAYMENT_VERIFICATION
    assert debtor_iban(checkout.session, mandate) == PAYING_ACCOUNT.replace(" ", "")
    assert mandate.evidence["consent_at"] and mandate.evidence["user_agent"] is not None
    assert mandate.evidence["provider_payment_id"] == payment.provider_payment_id
    assert mandate.text_version and mandate.customer_id == checkout.request.customer_id
    assert event_types(checkout.session, mandate.public_id) == [
        "mandate.created", "mandate.signed", "mandate.active"]
    run_due_jobs(app)
    record = mandate_pdf(checkout.session, mandate)
    assert record is not None
    adapters = get_adapters(app)
    report = verify(read_pdf(adapters.pdf_store, record), adapters.sealing().trust)
    assert report.ok
    stored = checkout.session.scalars(select(ProviderMandate)).one()
    assert (stored.method, stored.mandate_id, stored.status) == (
        "directdebit", mandate.id, StoredMandateStatus.VALID)


def test_future_invoices_need_consent(checkout: Checkout) -> None:
    answer = checkout.start("ideal", set_up="y")
    assert answer.status_code == 422 and 'data-field="consent"' in answer.get_data(as_text=True)
    assert checkout.payments() == []


def test_a_second_request_is_collected_on_the_sepa_mandate_without_the_customer(
        app: Flask, checkout: Checkout, session: Session, merchant: Merchant) -> None:
    checkout.pay("ideal", payer_iban=PAYING_ACCOUNT, set_up="y", consent="y")
    customer = checkout.reload().customer
    second = make_request(session, merchant, amount_cents=1800, customer=customer,
                          channel="email")
    run_due_jobs(app)
    session.expire_all()
    [charge] = second.payments
    assert (charge.sequence, charge.method, charge.status) == (
        "recurring", "directdebit", PaymentStatus.PENDING)
    # The bank settles the debit (the sandbox's tester page), the webhook brings it in.
    page = checkout.client.get(f"/sandbox/payments/{charge.provider_payment_id}")
    checkout.client.post(f"/sandbox/payments/{charge.provider_payment_id}",
                         data={"csrf_token": csrf_token(page), "action": "paid"})
    session.expire_all()
    assert session.get(type(second), second.id).status is S.PAID
    assert not session.scalars(select(PaymentMessage).where(
        PaymentMessage.request_id == second.id, PaymentMessage.kind == "request")).all()


def test_paying_by_card_stores_a_card_token_and_later_requests_are_charged_on_it(
        app: Flask, checkout: Checkout, session: Session, merchant: Merchant) -> None:
    done = checkout.pay("creditcard", card="mastercard", set_up="y", consent="y")
    assert 'id="card-stored"' in done.get_data(as_text=True)
    stored = session.scalars(select(ProviderMandate)).one()
    assert (stored.method, stored.card_last4, stored.mandate_id) == ("creditcard", "4444", None)
    assert not session.scalars(select(Mandate)).all()  # a card mandate, not a SEPA one
    sandbox = session.scalars(select(SandboxPayment)).one()
    assert sandbox.sequence == "first" and "4444" not in (sandbox.payer_name or "")

    second = make_request(session, merchant, amount_cents=990,
                          customer=checkout.reload().customer)
    run_due_jobs(app)
    session.expire_all()
    request = session.get(type(second), second.id)
    assert request.status is S.PAID
    [charge] = request.payments
    assert (charge.sequence, charge.stored_mandate.public_id) == ("recurring", stored.public_id)
    assert event_types(session, request.public_id) == ["payment_request.created",
                                                       "payment_request.paid"]


def test_a_refused_card_token_falls_back_to_the_pay_link(
        app: Flask, checkout: Checkout, session: Session, merchant: Merchant) -> None:
    checkout.pay("creditcard", card="declines_later", set_up="y", consent="y")
    second = make_request(session, merchant, amount_cents=990,
                          customer=checkout.reload().customer)
    run_due_jobs(app)
    session.expire_all()
    request = session.get(type(second), second.id)
    assert request.status is S.OPEN
    failed = [e for e in __import__("tests.payments.conftest", fromlist=["events"]).events(
        session, request.public_id) if e.type == "payment_request.failed"]
    assert [(e.data["reason"], e.data["fallback"]) for e in failed] == [
        ("card_declined", "pay_link")]
    stored = session.scalars(select(ProviderMandate)).one()
    assert stored.status is StoredMandateStatus.INVALID
    [message] = session.scalars(select(PaymentMessage).where(
        PaymentMessage.request_id == request.id)).all()
    assert (message.kind, message.channel, message.status.value) == ("fallback", "email", "sent")
    # The customer pays through the link; the next request is not charged on the dead token.
    Checkout(checkout.app, checkout.client, session, request).pay("ideal")
    third = make_request(session, merchant, amount_cents=500, customer=request.customer)
    run_due_jobs(app)
    session.expire_all()
    assert session.get(type(third), third.id).payments == []
