"""Refunds (full, partial, larger than paid: refused), their statuses and events, chargebacks
after payment, and the automatic refund of the one-cent verification."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.merchants.models import Merchant
from portal.payments.models import Refund, RefundStatus, RequestStatus
from portal.payments.refunds import RefundRefused, create_refund
from portal.payments.service import record_external_payment
from tests.payments.conftest import START, event_types, events, make_request, run_jobs
from tests.payments.driver import Checkout
from tests.sign.driver import Journey, csrf_token

S = RequestStatus


@pytest.fixture
def paid(app: Flask, client: FlaskClient, session: Session, merchant: Merchant) -> Checkout:
    checkout = Checkout(app, client, session, make_request(session, merchant, amount_cents=5000))
    checkout.pay("ideal")
    return checkout


def _settle(checkout: Checkout, refund: Refund, outcome: str) -> None:
    checkout.session.expire_all()
    payment = checkout.session.get(Refund, refund.id).payment
    path = f"/sandbox/payments/{payment.provider_payment_id}"
    page = checkout.client.get(path)
    remote = checkout.session.get(Refund, refund.id).provider_refund_id
    answer = checkout.client.post(path, data={"csrf_token": csrf_token(page),
                                              "action": f"refund:{remote}:{outcome}"})
    assert answer.status_code == 303, answer.data[:300]


def test_a_partial_then_the_rest_refunded_through_the_provider(app: Flask, paid: Checkout) -> None:
    session, request = paid.session, paid.reload()
    refund = create_refund(session, request, 2000, actor="merchant:t", now=START)
    session.commit()
    assert refund.status is RefundStatus.PENDING
    run_jobs(app)
    session.expire_all()
    assert session.get(Refund, refund.id).provider_refund_id.startswith("re_sbx")
    _settle(paid, refund, "refunded")
    request = paid.reload()
    assert (request.status, request.refunded_cents) == (S.PARTLY_REFUNDED, 2000)
    rest = create_refund(session, request, None, actor="merchant:t", now=START)
    session.commit()
    run_jobs(app)
    _settle(paid, rest, "refunded")
    request = paid.reload()
    assert (request.status, request.refunded_cents) == (S.REFUNDED, 5000)
    assert [e.type for e in events(session) if e.type.startswith("refund.")] == [
        "refund.created", "refund.succeeded", "refund.created", "refund.succeeded"]


def test_a_refund_larger_than_what_was_paid_is_refused(paid: Checkout) -> None:
    with pytest.raises(RefundRefused, match="At most 5000 cents"):
        create_refund(paid.session, paid.reload(), 5001, actor="t", now=START)
    paid.session.rollback()
    create_refund(paid.session, paid.reload(), 4000, actor="t", now=START)
    paid.session.commit()
    with pytest.raises(RefundRefused):  # the pending 40.00 is reserved
        create_refund(paid.session, paid.reload(), 1001, actor="t", now=START)


def test_a_failed_refund_returns_nothing_and_says_so(app: Flask, paid: Checkout) -> None:
    refund = create_refund(paid.session, paid.reload(), 1000, actor="t", now=START)
    paid.session.commit()
    run_jobs(app)
    _settle(paid, refund, "failed")
    request = paid.reload()
    assert (request.status, request.refunded_cents) == (S.PAID, 0)
    assert event_types(paid.session, refund.public_id) == ["refund.created", "refund.failed"]


def test_an_external_payment_is_refunded_at_once(session: Session, merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=3000)
    record_external_payment(session, request, 3000, method="cash", reference=None, actor="t",
                            now=START)
    refund = create_refund(session, request, 1000, actor="t", now=START)
    session.commit()
    assert refund.status is RefundStatus.SUCCEEDED and request.status is S.PARTLY_REFUNDED


def test_an_overpayment_is_refundable_back_to_paid(session: Session, merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=3000)
    record_external_payment(session, request, 3500, method=None, reference=None, actor="t",
                            now=START)
    create_refund(session, request, 500, actor="t", now=START)
    session.commit()
    assert (request.status, request.overpaid_cents) == (S.PAID, 0)


def test_a_chargeback_after_payment_reopens_the_request_and_is_reported(
        paid: Checkout) -> None:
    [payment] = paid.payments()
    path = f"/sandbox/payments/{payment.provider_payment_id}"
    page = paid.client.get(path)
    answer = paid.client.post(path, data={"csrf_token": csrf_token(page), "action": "chargeback"})
    assert answer.status_code == 303
    request = paid.reload()
    assert (request.status, request.open_cents, request.charged_back_cents) == (S.OPEN, 5000,
                                                                                5000)
    [chargeback] = [e for e in events(paid.session) if e.type == "chargeback.received"]
    assert chargeback.data["payment"] == payment.public_id and chargeback.data["amount"] == 5000
    assert chargeback.data["reason_code"] == "MD06"
    paid.client.post("/providers/sandbox/webhook", data={"id": payment.provider_payment_id})
    assert event_types(paid.session, prefix="chargeback.") == ["chargeback.received"]


def test_the_verification_cent_is_refunded_after_activation_when_the_merchant_wants(
        app: Flask, journey: Journey, session: Session) -> None:
    journey.invitation.merchant.refund_verification = True
    session.commit()
    form = journey.open().get_data(as_text=True)
    assert "refunded" in form  # the signing page says so
    journey.follow(journey.pay("paid"))
    refund = session.scalars(select(Refund)).one()
    assert refund.automatic and refund.amount_cents == 1 and refund.status is RefundStatus.PENDING
    run_jobs(app)
    session.expire_all()
    refund = session.get(Refund, refund.id)
    [verification] = journey.payments()
    path = f"/sandbox/payments/{verification.provider_payment_id}"
    page = journey.client.get(path)
    journey.client.post(path, data={"csrf_token": csrf_token(page),
                                    "action": f"refund:{refund.provider_refund_id}:refunded"})
    session.expire_all()
    assert session.get(Refund, refund.id).status is RefundStatus.SUCCEEDED
    assert event_types(session, refund.public_id) == ["refund.created", "refund.succeeded"]
