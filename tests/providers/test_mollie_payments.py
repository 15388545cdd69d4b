"""MollieProvider's payments beyond the one-cent check, against the local Mollie twin: one-off
payments by each method, first payments leaving a card mandate, recurring charges, refunds
(full, partial, too large), chargebacks, enabled methods, and the error mapping."""

from __future__ import annotations

from typing import Any

import pytest

from portal.providers.base import (
    MandateState,
    PaymentOrder,
    PaymentStatus,
    ProviderError,
    ProviderUnavailable,
    RefundState,
    Sequence,
)
from portal.providers.mollie import MollieProvider

from .mollie_stub import MollieStub


def order(**overrides: Any) -> PaymentOrder:
    fields: dict[str, Any] = {
        "amount_cents": 4250, "currency": "EUR", "description": "Invoice 2030-0042",
        "redirect_url": "https://portal.example.org/pay/t/return",
        "webhook_url": "https://portal.example.org/providers/mollie/webhook",
        "metadata": {"payment_request": "preq_1", "payment": "ptx_1"},
        "customer_name": "Sam de Vries", "customer_email": "sam@example.org", "locale": "nl",
        "sequence": Sequence.ONEOFF, "method": "ideal"}
    fields.update(overrides)
    return PaymentOrder(**fields)


@pytest.mark.parametrize("method", ["ideal", "creditcard", "bancontact", "paypal"])
def test_one_off_payment_by_each_method(mollie: MollieProvider, mollie_stub: MollieStub,
                                        method: str) -> None:
    payment = mollie.create_payment(order(method=method))
    body = mollie_stub.requests[-1].json
    assert body["method"] == method and "sequenceType" not in body
    mollie_stub.pay(payment.id)
    fetched = mollie.get_payment(payment.id)
    assert (fetched.status, fetched.method, fetched.amount_cents) == (PaymentStatus.PAID, method,
                                                                      4250)


def test_first_card_payment_leaves_a_card_mandate_with_only_the_last_digits(
        mollie: MollieProvider, mollie_stub: MollieStub) -> None:
    payment = mollie.create_payment(order(sequence=Sequence.FIRST, method="creditcard"))
    assert mollie_stub.api_calls() == [("POST", "/v2/customers"), ("POST", "/v2/payments")]
    assert mollie_stub.requests[-1].json["sequenceType"] == "first"
    mollie_stub.pay(payment.id)
    paid = mollie.get_payment(payment.id)
    mandate = mollie.get_mandate(paid.provider_customer_id, paid.provider_mandate_id)
    assert (mandate.method, mandate.status, mandate.card_last4, mandate.card_label) == (
        "creditcard", MandateState.VALID, "4444", "Mastercard")
    assert mandate.card_expiry == "2030-12-31" and mandate.consumer_iban is None


def test_first_payment_for_a_known_customer_creates_no_second_customer(
        mollie: MollieProvider, mollie_stub: MollieStub) -> None:
    first = mollie.create_payment(order(sequence=Sequence.FIRST))
    mollie.create_payment(order(sequence=Sequence.FIRST,
                                provider_customer_id=first.provider_customer_id))
    assert [call for call in mollie_stub.api_calls() if call[1] == "/v2/customers"] == [
        ("POST", "/v2/customers")]


def _mandate(mollie: MollieProvider, stub: MollieStub, method: str) -> tuple[str, str]:
    payment = mollie.create_payment(order(sequence=Sequence.FIRST, method=method))
    stub.pay(payment.id)
    paid = mollie.get_payment(payment.id)
    return paid.provider_customer_id, paid.provider_mandate_id


def test_recurring_charge_on_a_card_is_paid_without_the_customer(
        mollie: MollieProvider, mollie_stub: MollieStub) -> None:
    customer, mandate = _mandate(mollie, mollie_stub, "creditcard")
    charge = mollie.create_payment(order(
        sequence=Sequence.RECURRING, method=None, provider_customer_id=customer,
        provider_mandate_id=mandate, idempotency_key="ptx_charge1"))
    body = mollie_stub.requests[-1].json
    assert body["sequenceType"] == "recurring" and body["customerId"] == customer
    assert body["mandateId"] == mandate and "redirectUrl" not in body and "method" not in body
    assert mollie_stub.requests[-1].headers["idempotency-key"] == "ptx_charge1"
    assert charge.status is PaymentStatus.PAID and charge.sequence is Sequence.RECURRING
    again = mollie.create_payment(order(
        sequence=Sequence.RECURRING, method=None, provider_customer_id=customer,
        provider_mandate_id=mandate, idempotency_key="ptx_charge1"))
    assert again.id == charge.id  # a retried create makes one payment


def test_recurring_sepa_charge_is_pending_and_a_refusal_carries_the_bank_reason(
        mollie: MollieProvider, mollie_stub: MollieStub) -> None:
    customer, mandate = _mandate(mollie, mollie_stub, "ideal")
    charge = mollie.create_payment(order(sequence=Sequence.RECURRING, method=None,
                                         provider_customer_id=customer,
                                         provider_mandate_id=mandate))
    assert (charge.status, charge.method) == (PaymentStatus.PENDING, "directdebit")
    mollie_stub.fail_charge(charge.id, "AM04")
    failed = mollie.get_payment(charge.id)
    assert (failed.status, failed.failure_reason) == (PaymentStatus.FAILED, "AM04")


def test_recurring_without_customer_and_mandate_is_refused_before_calling() -> None:
    with pytest.raises(ValueError):
        order(sequence=Sequence.RECURRING, method=None)


def test_refunds_partial_then_rest_and_too_large_is_refused(
        mollie: MollieProvider, mollie_stub: MollieStub) -> None:
    payment = mollie.create_payment(order())
    mollie_stub.pay(payment.id)
    first = mollie.create_refund(payment.id, 1000, description="Discount",
                                 idempotency_key="rfd_1")
    assert mollie_stub.requests[-1].json == {"amount": {"currency": "EUR", "value": "10.00"},
                                             "description": "Discount"}
    assert (first.status, first.raw_status, first.amount_cents) == (RefundState.PENDING,
                                                                    "pending", 1000)
    with pytest.raises(ProviderError) as refused:
        mollie.create_refund(payment.id, 3251, description="Too much")
    assert (refused.value.status, refused.value.field, refused.value.retryable) == (
        422, "amount", False)
    mollie.create_refund(payment.id, 3250, description="The rest")
    mollie_stub.settle_refund(payment.id, first.id)
    states = {r.id: r.status for r in mollie.list_refunds(payment.id)}
    assert states[first.id] is RefundState.SUCCEEDED and len(states) == 2
    assert mollie.get_payment(payment.id).refunded_cents == 1000


def test_chargebacks_are_listed_with_reason_and_amount(mollie: MollieProvider,
                                                        mollie_stub: MollieStub) -> None:
    payment = mollie.create_payment(order())
    mollie_stub.pay(payment.id)
    chargeback_id = mollie_stub.add_chargeback(payment.id, 2000)
    [chargeback] = mollie.list_chargebacks(payment.id)
    assert (chargeback.id, chargeback.amount_cents, chargeback.reason_code) == (
        chargeback_id, 2000, "MD06")
    assert mollie.get_payment(payment.id).charged_back_cents == 2000


def test_enabled_methods_per_sequence(mollie: MollieProvider, mollie_stub: MollieStub) -> None:
    assert [m.id for m in mollie.enabled_methods()] == ["ideal", "creditcard", "bancontact",
                                                        "paypal"]
    assert [m.id for m in mollie.enabled_methods(Sequence.FIRST, 4250)] == [
        "ideal", "creditcard", "bancontact"]
    query = mollie_stub.requests[-1].query
    assert query == {"sequenceType": "first", "amount[value]": "42.50",
                     "amount[currency]": "EUR"}
    mollie_stub.enabled = ["ideal"]
    assert [m.id for m in mollie.enabled_methods(Sequence.RECURRING)] == []


def test_error_mapping_for_the_new_calls(mollie: MollieProvider,
                                         mollie_stub: MollieStub) -> None:
    with pytest.raises(ProviderError) as unknown:
        mollie.list_refunds("tr_doesnotexist")
    assert unknown.value.status == 404
    mollie_stub.fail_next(status=503)
    with pytest.raises(ProviderUnavailable):
        mollie.list_chargebacks("tr_doesnotexist")
    mollie_stub.fail_next(status=429)
    with pytest.raises(ProviderUnavailable):
        mollie.enabled_methods()
    with pytest.raises(ProviderError):  # a malformed id never reaches Mollie
        mollie.create_refund("../v2/customers", 100, description="x")
    assert mollie_stub.api_calls()[-1] == ("GET", "/v2/methods")
