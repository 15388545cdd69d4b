"""The checkout with the Mollie adapter against the local Mollie stub: a card first payment that
stores a card token, a later request charged on it, a refund and a chargeback, all through the
webhook."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.merchants.models import Merchant
from portal.payments.models import PaymentRequest, ProviderMandate, RequestStatus
from portal.payments.refunds import create_refund
from tests.payments.conftest import START, event_types, make_request, run_jobs
from tests.payments.driver import Checkout
from tests.providers.mollie_stub import MollieStub, mollie_stub  # noqa: F401  (fixture)
from tests.reconfigure import reconfigure

S = RequestStatus


@pytest.fixture
def mollie_app(app: Flask, mollie_stub: MollieStub) -> Flask:  # noqa: F811
    return reconfigure(app, PAYMENT_PROVIDER="mollie", MOLLIE_API_KEY=mollie_stub.api_key,
                       MOLLIE_BASE_URL=mollie_stub.base_url)


def _hook(client: FlaskClient, payment_id: str) -> None:
    assert client.post("/providers/mollie/webhook", data={"id": payment_id}).status_code == 200


def test_card_token_then_recurring_charge_refund_and_chargeback_through_mollie(
        mollie_app: Flask, client: FlaskClient, session: Session, merchant: Merchant,
        mollie_stub: MollieStub) -> None:  # noqa: F811
    checkout = Checkout(mollie_app, client, session,
                        make_request(session, merchant, amount_cents=2500, offer_mandate=True))
    started = checkout.start("creditcard", set_up="y", consent="y")
    assert started.headers["Location"].startswith(mollie_stub.base_url)
    [payment] = checkout.payments()
    created = mollie_stub.payment(payment.provider_payment_id)
    assert (created["method"], created["sequenceType"]) == ("creditcard", "first")
    mollie_stub.pay(payment.provider_payment_id)
    _hook(client, payment.provider_payment_id)
    assert checkout.reload().status is S.PAID
    stored = session.scalars(select(ProviderMandate)).one()
    assert (stored.method, stored.card_last4) == ("creditcard", "4444")

    second = make_request(session, merchant, amount_cents=1200,
                          customer=checkout.request.customer)
    run_jobs(mollie_app)
    session.expire_all()
    second = session.get(PaymentRequest, second.id)
    assert second.status is S.PAID
    [charge] = second.payments
    recurring = mollie_stub.payment(charge.provider_payment_id)
    assert (recurring["sequenceType"], recurring["mandateId"]) == (
        "recurring", stored.provider_mandate_ref)

    refund = create_refund(session, second, 500, actor="t", now=START)
    session.commit()
    run_jobs(mollie_app)
    [remote] = mollie_stub.refunds(charge.provider_payment_id)
    mollie_stub.settle_refund(charge.provider_payment_id, remote["id"])
    _hook(client, charge.provider_payment_id)
    mollie_stub.add_chargeback(charge.provider_payment_id, 700)
    _hook(client, charge.provider_payment_id)
    session.expire_all()
    second = session.get(PaymentRequest, second.id)
    assert (second.refunded_cents, second.charged_back_cents) == (500, 700)
    assert event_types(session, refund.public_id) == ["refund.created", "refund.succeeded"]
    assert event_types(session, prefix="chargeback.") == ["chargeback.received"]
