"""Money through the sandbox provider, on both databases: two partial payments confirmed at the
same moment add up, a payment completed after the request expired counts as late, and a second
payment on a paid request (two tabs) is a double payment, overpaid and refundable."""

from __future__ import annotations

import threading

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.db import state
from portal.merchants.models import Merchant
from portal.payments.models import Payment, PaymentRequest, RequestStatus
from portal.payments.notifications import apply_webhook
from portal.payments.refunds import create_refund
from portal.providers.base import PaymentStatus
from portal.sandbox.models import SandboxPayment
from portal.sandbox.provider import SandboxProvider, complete_sandbox_payment
from tests.payments.conftest import Clock, event_types, events, make_request, run_jobs
from tests.payments.driver import Checkout
from tests.sign.driver import local

S = RequestStatus


def _started(checkout: Checkout, **fields: str) -> Payment:
    answer = checkout.start("ideal", **fields)
    assert answer.status_code == 303, answer.data[:300]
    return checkout.payments()[-1]


def _settle_in_sandbox(session: Session, payment: Payment) -> None:
    """The customer pays at the sandbox; its webhook is not delivered yet."""
    sandbox = session.scalars(select(SandboxPayment).where(
        SandboxPayment.payment_id == payment.provider_payment_id)).one()
    complete_sandbox_payment(sandbox, PaymentStatus.PAID, issuer="INGBNL2A", payer_name="S",
                             payer_iban="NL91ABNA0417164300", session=session, now=utcnow())
    session.commit()


def test_two_partial_payments_confirmed_at_the_same_moment_add_up(
        app: Flask, client: FlaskClient, session: Session, merchant: Merchant) -> None:
    checkout = Checkout(app, client, session, make_request(session, merchant, amount_cents=10_000,
                                                           allow_partial=True))
    first = _started(checkout, amount="30.00")
    second = _started(checkout, amount="70.00")
    for payment in (first, second):
        _settle_in_sandbox(session, payment)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def webhook(payment: Payment) -> None:
        try:
            with state(app).factory() as own:
                barrier.wait(timeout=10)
                sandbox = SandboxProvider("http://localhost", session=lambda: own, clock=utcnow)
                apply_webhook(own, sandbox, payment.provider_payment_id, clock=utcnow)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=webhook, args=(p,)) for p in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    request = checkout.reload()
    assert (request.received_cents, request.status, request.open_cents) == (10_000, S.PAID, 0)
    assert sorted(event_types(session, request.public_id)[1:]) == [
        "payment_request.paid", "payment_request.partly_paid"]


def test_a_payment_completed_after_expiry_is_late_counted_and_reported(
        app: Flask, client: FlaskClient, session: Session, merchant: Merchant,
        clock: Clock) -> None:
    checkout = Checkout(app, client, session, make_request(session, merchant, amount_cents=2500))
    started = checkout.start("bancontact")
    clock.advance(days=31)
    run_jobs(app)
    assert checkout.reload().status is S.EXPIRED
    page = checkout.client.get(local(started.headers["Location"]))
    from tests.sign.driver import csrf_token

    checkout.client.post(local(started.headers["Location"]), data={
        "csrf_token": csrf_token(page), "outcome": "paid", "payer_name": "S",
        "payer_iban": "BE68 5390 0754 7034"})
    request = checkout.reload()
    [payment] = request.payments
    assert (request.status, payment.late) == (S.PAID, True)
    paid = events(session, request.public_id)[-1]
    assert (paid.type, paid.data["late"]) == ("payment_request.paid", True)


def test_paying_twice_from_two_tabs_is_a_double_payment_overpaid_and_refundable(
        app: Flask, client: FlaskClient, session: Session, merchant: Merchant) -> None:
    checkout = Checkout(app, client, session, make_request(session, merchant, amount_cents=2500))
    tabs = [_started(checkout), _started(checkout)]
    for payment in tabs:
        _settle_in_sandbox(session, payment)
        checkout.client.post("/providers/sandbox/webhook",
                             data={"id": payment.provider_payment_id})
    request = checkout.reload()
    assert (request.status, request.overpaid_cents) == (S.OVERPAID, 2500)
    assert [p.double for p in request.payments] == [False, True]
    overpaid = events(session, request.public_id)[-1]
    assert (overpaid.type, overpaid.data["double_payment"]) == ("payment_request.overpaid", True)
    refund = create_refund(session, request, 2500, payment=request.payments[1], actor="t",
                           now=request.updated_at)
    session.commit()
    assert refund.amount_cents == 2500 and session.get(PaymentRequest, request.id).status is \
        S.OVERPAID  # until the provider has made the refund
