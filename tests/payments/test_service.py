"""Payment requests through the service: money counted once, partial payments that add up even
when they arrive together, late and double payments recorded and reported, withdraw, expiry."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.db import state
from portal.merchants.models import Merchant
from portal.payments.lifecycle import InvalidTransition
from portal.payments.models import Payment, PaymentRequest, RequestStatus
from portal.payments.service import (
    expire_payment_request,
    open_amount,
    payable,
    record_external_payment,
    withdraw_payment_request,
)
from tests.payments.conftest import START, Clock, event_types, events, make_request, run_jobs

S = RequestStatus


def _reload(session: Session, request: PaymentRequest) -> PaymentRequest:
    session.expire_all()
    return session.get(PaymentRequest, request.id)


def test_creating_a_request_emits_created_with_its_amounts(session: Session,
                                                            merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=2500)
    created = events(session, request.public_id)
    assert [e.type for e in created] == ["payment_request.created"]
    assert created[0].data["amount"] == 2500 and created[0].data["open_amount"] == 2500
    assert request.status is S.OPEN and open_amount(request) == 2500


def test_external_payments_reduce_the_open_amount_then_pay_it(session: Session,
                                                               merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=10_000)
    record_external_payment(session, request, 4000, method="banktransfer", reference="STMT-1",
                            actor="merchant:test", now=START)
    session.commit()
    assert (request.status, request.open_cents) == (S.PARTLY_PAID, 6000)
    record_external_payment(session, request, 6000, method="cash", reference=None,
                            actor="merchant:test", now=START)
    session.commit()
    request = _reload(session, request)
    assert (request.status, request.open_cents, request.net_received_cents) == (S.PAID, 0, 10_000)
    assert event_types(session, request.public_id) == [
        "payment_request.created", "payment_request.partly_paid", "payment_request.paid"]


def test_a_payment_after_the_request_was_paid_is_a_double_payment_reported_as_overpaid(
        session: Session, merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=5000)
    record_external_payment(session, request, 5000, method=None, reference=None, actor="t",
                            now=START)
    second = record_external_payment(session, request, 5000, method=None, reference=None,
                                     actor="t", now=START)
    session.commit()
    request = _reload(session, request)
    assert request.status is S.OVERPAID and request.overpaid_cents == 5000
    assert second.double is True
    overpaid = events(session, request.public_id)[-1]
    assert overpaid.type == "payment_request.overpaid"
    assert overpaid.data["double_payment"] is True and overpaid.data["payment"] == second.public_id


def test_an_overpayment_is_recorded_as_overpaid(session: Session, merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=5000)
    record_external_payment(session, request, 7000, method=None, reference=None, actor="t",
                            now=START)
    session.commit()
    assert (request.status, request.overpaid_cents) == (S.OVERPAID, 2000)
    assert event_types(session, request.public_id)[-1] == "payment_request.overpaid"


def test_a_payment_after_expiry_is_late_counted_and_reported(
        app: Flask, session: Session, merchant: Merchant, clock: Clock) -> None:
    request = make_request(session, merchant, amount_cents=5000)
    clock.advance(days=31)
    run_jobs(app)
    request = _reload(session, request)
    assert request.status is S.EXPIRED and not payable(request, clock.now)
    payment = record_external_payment(session, request, 5000, method=None, reference=None,
                                      actor="t", now=clock.now)
    session.commit()
    request = _reload(session, request)
    assert request.status is S.PAID and payment.late is True
    paid = events(session, request.public_id)[-1]
    assert (paid.type, paid.data["late"]) == ("payment_request.paid", True)
    assert event_types(session, request.public_id) == [
        "payment_request.created", "payment_request.expired", "payment_request.paid"]


def test_expiry_happens_once_and_not_for_a_paid_request(session: Session,
                                                        merchant: Merchant) -> None:
    request = make_request(session, merchant)
    later = START + timedelta(days=31)
    assert not expire_payment_request(session, request, now=START)  # not yet due
    assert expire_payment_request(session, request, now=later)
    assert not expire_payment_request(session, request, now=later)
    paid = make_request(session, merchant, amount_cents=100)
    record_external_payment(session, paid, 100, method=None, reference=None, actor="t",
                            now=START)
    assert not expire_payment_request(session, paid, now=later)
    session.commit()
    assert event_types(session, prefix="payment_request.expired") == [
        "payment_request.expired"]


def test_withdrawn_requests_owe_nothing_and_a_later_payment_is_late_overpaid(
        session: Session, merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=5000)
    withdraw_payment_request(session, request, actor="merchant:test", now=START,
                             reason="sold out")
    session.commit()
    assert (request.status, request.open_cents) == (S.WITHDRAWN, 0)
    with pytest.raises(InvalidTransition):
        withdraw_payment_request(session, request, actor="merchant:test", now=START)
    session.rollback()
    payment = record_external_payment(session, request, 5000, method=None, reference=None,
                                      actor="t", now=START)
    session.commit()
    assert payment.late is True and request.withdrawn_at is not None


def test_a_paid_request_cannot_be_withdrawn(session: Session, merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=100)
    record_external_payment(session, request, 100, method=None, reference=None, actor="t",
                            now=START)
    with pytest.raises(InvalidTransition):
        withdraw_payment_request(session, request, actor="t", now=START)


def test_two_concurrent_partial_payments_add_up(app: Flask, session: Session,
                                                merchant: Merchant) -> None:
    request = make_request(session, merchant, amount_cents=10_000)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def pay(cents: int) -> None:
        try:
            with app.app_context(), state(app).factory() as own:
                mine = own.get(PaymentRequest, request.id)
                barrier.wait(timeout=10)
                record_external_payment(own, mine, cents, method=None, reference=None,
                                        actor="t", now=START)
                own.commit()
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=pay, args=(cents,)) for cents in (3000, 7000)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not errors, errors
    request = _reload(session, request)
    assert (request.received_cents, request.status) == (10_000, S.PAID)
    payments = session.scalars(select(Payment).where(Payment.request_id == request.id)).all()
    assert sorted(p.amount_cents for p in payments) == [3000, 7000]
    assert sorted(event_types(session, request.public_id)[1:]) == [
        "payment_request.paid", "payment_request.partly_paid"]
