"""The payment request and payment state machines: tables, and their three distinct errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from portal.merchants.models import Merchant
from portal.payments.lifecycle import (
    TRANSITIONS,
    DoublePayment,
    IgnoredRepeat,
    InvalidTransition,
    RequestAction,
    apply_payment_status,
    apply_request_transition,
    status_by_amounts,
)
from portal.payments.models import Payment, PaymentRequest, RequestStatus
from portal.providers.base import PaymentStatus
from tests.payments.conftest import START, make_request

S = RequestStatus


def _amounts(request: PaymentRequest, received: int, refunded: int = 0, charged_back: int = 0,
             ) -> RequestStatus:
    request.received_cents, request.refunded_cents = received, refunded
    request.charged_back_cents = charged_back
    return status_by_amounts(request)


def test_status_follows_the_amounts(session: Session, merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=1000)
    assert _amounts(request, 0) is S.OPEN
    assert _amounts(request, 400) is S.PARTLY_PAID
    assert _amounts(request, 1000) is S.PAID
    assert _amounts(request, 1500) is S.OVERPAID
    assert _amounts(request, 1500, refunded=500) is S.PAID
    assert _amounts(request, 1000, refunded=300) is S.PARTLY_REFUNDED
    assert _amounts(request, 1000, refunded=1000) is S.REFUNDED
    assert _amounts(request, 1000, charged_back=1000) is S.OPEN
    assert _amounts(request, 1000, charged_back=600) is S.PARTLY_PAID
    request.expired_at = START
    assert _amounts(request, 0) is S.EXPIRED


def test_a_payment_on_a_paid_request_is_a_double_payment(session: Session,
                                                          merchant: Merchant) -> None:
    request = make_request(session, merchant)
    request.status = S.PAID
    with pytest.raises(DoublePayment):
        apply_request_transition(session, request, RequestAction.RECEIVE, S.OVERPAID,
                                 actor="test", now=START)
    assert apply_request_transition(session, request, RequestAction.RECEIVE_DOUBLE, S.OVERPAID,
                                    actor="test", now=START) is S.OVERPAID


def test_anything_outside_the_table_is_an_invalid_transition(session: Session,
                                                              merchant: Merchant) -> None:
    request = make_request(session, merchant)
    with pytest.raises(InvalidTransition):  # nothing was paid: nothing to refund
        apply_request_transition(session, request, RequestAction.REFUND, S.REFUNDED,
                                 actor="test", now=START)
    with pytest.raises(InvalidTransition):  # the amounts decide; this target is not allowed
        apply_request_transition(session, request, RequestAction.EXPIRE, S.PAID,
                                 actor="test", now=START)
    request.status = S.PAID
    for action in (RequestAction.EXPIRE, RequestAction.WITHDRAW):
        assert (S.PAID, action) not in TRANSITIONS
        with pytest.raises(InvalidTransition):
            apply_request_transition(session, request, action,
                                     S.EXPIRED if action is RequestAction.EXPIRE else S.WITHDRAWN,
                                     actor="test", now=START)


def test_the_same_status_again_is_an_ignored_repeat_and_noted(session: Session,
                                                               merchant: Merchant) -> None:
    payment = Payment(status=PaymentStatus.OPEN, history=[])
    apply_payment_status(payment, PaymentStatus.PAID, source="return", now=START)
    with pytest.raises(IgnoredRepeat):
        apply_payment_status(payment, PaymentStatus.PAID, source="webhook",
                             now=START + timedelta(seconds=1))
    with pytest.raises(InvalidTransition):
        apply_payment_status(payment, PaymentStatus.FAILED, source="webhook", now=START)
    assert [(h["source"], h.get("outcome")) for h in payment.history] == [
        ("return", None), ("webhook", "repeat ignored"), ("webhook", "invalid transition")]
    assert payment.status is PaymentStatus.PAID
