"""What the provider reports about a payment on a request, applied exactly once: the status
(a repeat is ignored, an impossible change is recorded, never applied), the money counted, the
mandate or card token a first payment leaves, refunds and chargebacks made since. Safe to call
from the customer's return and the webhook at the same moment."""

from __future__ import annotations

import enum
import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from portal.audit.service import record_audit
from portal.events.service import emit_event
from portal.mandates.models import Mandate, MandateStatus
from portal.payments.lifecycle import (
    IgnoredRepeat,
    InvalidTransition,
    apply_payment_status,
    event_data,
)
from portal.payments.models import Payment, SetsUp
from portal.payments.refunds import record_chargebacks, sync_refunds
from portal.payments.service import Counted, count_payment, lock_request, queue_message
from portal.payments.stored import invalidate_stored_mandate, record_stored_mandate
from portal.providers.base import (
    PaymentProvider,
    PaymentStatus,
    ProviderChargeback,
    ProviderMandate,
    ProviderPayment,
    ProviderRefund,
)
from portal.sepa import mask_iban, normalize_iban

log = logging.getLogger(__name__)
#: Card refusals after which a token is no longer charged (the customer gets the link).
TOKEN_REFUSALS = frozenset({"card_expired", "card_declined", "mandate_invalid",
                            "invalid_card_number", "invalid_cvv", "card_blocked"})


class Applied(enum.StrEnum):
    PAID = "paid"
    DOUBLE_PAYMENT = "double_payment"
    PENDING = "pending"
    FAILED = "failed"
    #: Reported as it was before (the second of return and webhook): nothing changed.
    REPEAT = "repeat"
    #: The provider reported a change that cannot happen (e.g. paid → failed): recorded only.
    INVALID = "invalid"


def find_provider_payment(session: Session, provider: str, provider_payment_id: str
                          ) -> Payment | None:
    return session.scalar(select(Payment).where(Payment.provider == provider,
                                                Payment.provider_payment_id == provider_payment_id))


def apply_provider_payment(session: Session, payment: Payment, provider: PaymentProvider, *,
                           source: str, now: datetime) -> Applied:
    """Fetch the payment (its refunds and chargebacks, the mandate it left) from the provider,
    then apply it under the request's lock. Commits."""
    remote = provider.get_payment(payment.provider_payment_id or "")
    mandate_info = None
    if (remote.status == PaymentStatus.PAID and payment.sets_up is not None
            and remote.provider_mandate_id and remote.provider_customer_id):
        mandate_info = provider.get_mandate(remote.provider_customer_id,
                                            remote.provider_mandate_id)
    refunds = provider.list_refunds(remote.id) if remote.status == PaymentStatus.PAID else []
    chargebacks = (provider.list_chargebacks(remote.id)
                   if remote.charged_back_cents > payment.charged_back_cents else [])
    session.commit()  # end any read the provider made, so the lock comes first below
    for _ in range(3):
        try:
            outcome = _apply_locked(session, payment.id, remote, mandate_info, refunds,
                                    chargebacks, source, now)
            session.commit()
            return outcome
        except StaleDataError:  # another change of the same rows won; read again
            session.rollback()
    raise RuntimeError(f"payment {payment.public_id} could not be applied after 3 attempts")


def _apply_locked(session: Session, payment_id: int, remote: ProviderPayment,
                  mandate_info: ProviderMandate | None, refunds: list[ProviderRefund],
                  chargebacks: list[ProviderChargeback], source: str, now: datetime) -> Applied:
    existing = session.get(Payment, payment_id)
    assert existing is not None
    request = lock_request(session, existing.request_id, now)
    payment = session.get(Payment, payment_id, populate_existing=True)
    assert payment is not None
    actor = f"provider:{payment.provider}"
    try:
        apply_payment_status(payment, remote.status, source=source, now=now)
    except IgnoredRepeat:
        outcome = Applied.REPEAT
    except InvalidTransition as exc:
        log.warning("payment %s: provider reported %s", payment.public_id, exc)
        record_audit(session, action="payment.invalid_report", subject=payment.public_id,
                     actor=actor, merchant_id=payment.merchant_id, now=now,
                     data={"from": exc.current, "to": exc.target, "source": source})
        outcome = Applied.INVALID
    else:
        _payer(payment, remote)
        if remote.status == PaymentStatus.PAID:
            _leave_mandate(session, payment, mandate_info, remote, now)
            counted = count_payment(session, request, payment, actor=actor, now=now)
            outcome = Applied.DOUBLE_PAYMENT if counted is Counted.DOUBLE else Applied.PAID
        elif remote.status.is_final:
            _failed(session, payment, remote, now)
            outcome = Applied.FAILED
        else:
            outcome = Applied.PENDING
    if payment.status == PaymentStatus.PAID:
        sync_refunds(session, payment.provider or "", payment.provider_payment_id or "",
                     refunds, payment=payment, now=now)
        record_chargebacks(session, payment, chargebacks, now=now)
    return outcome


def _payer(payment: Payment, remote: ProviderPayment) -> None:
    payment.method = remote.method or payment.method
    if remote.payer_name:
        payment.payer_name = remote.payer_name[:140]
    if remote.payer_bic:
        payment.payer_bic = remote.payer_bic[:11]
    if remote.payer_iban:
        payment.payer_iban_masked = mask_iban(normalize_iban(remote.payer_iban))
    if remote.failure_reason:
        payment.failure_reason = remote.failure_reason[:100]


def _leave_mandate(session: Session, payment: Payment, info: ProviderMandate | None,
                   remote: ProviderPayment, now: datetime) -> None:
    """A paid first payment with "pay future invoices too": the Core mandate becomes active
    with the paying account as its IBAN, or the card token is stored as a card mandate."""
    if payment.sets_up is None:
        return
    mandate = payment.mandate
    customer = payment.request.customer
    if payment.sets_up is SetsUp.SEPA_MANDATE and mandate is not None:
        from portal.verification.service import activate_from_payment

        mandate = session.get(Mandate, mandate.id, populate_existing=True)
        assert mandate is not None
        if mandate.status != MandateStatus.AWAITING_VERIFICATION:
            return
        if remote.payer_name and not mandate.debtor_name:
            mandate.debtor_name = remote.payer_name[:140]
        if not activate_from_payment(
                session, mandate, provider=payment.provider or "",
                provider_payment_id=payment.provider_payment_id or "",
                payment_public_id=payment.public_id, status_history=payment.history,
                payer_iban=remote.payer_iban, payer_bic=remote.payer_bic, now=now):
            return
    if info is not None:
        stored = record_stored_mandate(
            session, customer, provider=payment.provider or "", remote=info, now=now,
            mandate=mandate if payment.sets_up is SetsUp.SEPA_MANDATE else None)
        payment.stored_mandate = stored  # its id, once written, at the flush


def _failed(session: Session, payment: Payment, remote: ProviderPayment, now: datetime) -> None:
    """A failed attempt: the merchant hears of it; a refused charge on a stored card token
    invalidates the token and sends the customer the pay link instead."""
    request = payment.request
    fallback = None
    if payment.sequence == "recurring":
        stored = payment.stored_mandate
        reason = remote.failure_reason or remote.status.value
        if stored is not None and (stored.method == "creditcard" or reason in TOKEN_REFUSALS):
            invalidate_stored_mandate(session, stored, reason, now=now)
        channel = request.channel if request.channel != "none" else (
            "email" if request.customer.email else "sms" if request.customer.phone else None)
        if channel is not None:
            queue_message(session, request, "fallback", channel, payment=payment)
            fallback = "pay_link"
    elif remote.status != PaymentStatus.FAILED:
        return  # the customer cancelled or left: they may try again, nothing to report
    data = {"payment": payment.public_id, "reason": remote.failure_reason or remote.status.value,
            "method": payment.method, "fallback": fallback}
    record_audit(session, action="payment_request.payment_failed", subject=request.public_id,
                 actor=f"provider:{payment.provider}", merchant_id=request.merchant_id, now=now,
                 data=data)
    emit_event(session, merchant_id=request.merchant_id, type="payment_request.failed",
               subject=request.public_id, now=now, data=event_data(request, None, data))
