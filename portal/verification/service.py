"""The one-cent verification: start it, and apply what the provider reports, exactly once."""

from __future__ import annotations

import enum
import functools
import logging
from datetime import datetime
from typing import Any

from sqlalchemy import Select, bindparam, select, update
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.exc import StaleDataError

from portal.audit.service import record_audit
from portal.clock import Clock
from portal.db import table_of
from portal.documents.service import pdf_job
from portal.events.service import emit_event
from portal.ids import new_public_id
from portal.jobs.service import add_jobs
from portal.mail.service import mandate_copy_job
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.mandates.models import Invitation, Mandate, MandateStatus, SigningMethod
from portal.mandates.service import set_debtor_account
from portal.mandates.signing_methods import check_signing_methods
from portal.metrics import MANDATES_SIGNED
from portal.providers.base import PaymentOrder, PaymentProvider, PaymentStatus, ProviderPayment
from portal.sepa import IbanError, mask_iban, normalize_iban, validate_iban
from portal.verification.models import VerificationPayment

log = logging.getLogger(__name__)
VERIFICATION_AMOUNT_CENTS = 1


class UnknownPayment(LookupError):
    """A notification named a payment this portal never created."""


class Outcome(enum.StrEnum):
    ACTIVATED = "activated"
    ALREADY_ACTIVE = "already_active"
    PENDING = "pending"
    RETRY = "retry"  # failed, cancelled or expired: the customer may try again
    REJECTED = "rejected"  # paid, but from an account that cannot carry a SEPA mandate
    CLOSED = "closed"  # the mandate left verification some other way


def _history(payment: VerificationPayment, status: PaymentStatus, source: str, now: datetime):
    payment.status_history = [*payment.status_history,
                              {"status": status.value, "at": now.isoformat(), "source": source}]


def start_verification(
    session: Session, mandate: Mandate, provider: PaymentProvider, *, return_url: str,
    webhook_url: str | None, now: datetime,
) -> VerificationPayment:
    """Create a one-cent payment at the provider for this mandate; the caller redirects to it.
    SigningMethodError for a mandate a payment cannot sign (B2B)."""
    check_signing_methods(mandate.scheme, (SigningMethod.PAYMENT_VERIFICATION,),
                          bank_available=True)
    payment = VerificationPayment(
        public_id=new_public_id("pay"), merchant_id=mandate.merchant_id, mandate=mandate,
        provider=provider.name, amount_cents=VERIFICATION_AMOUNT_CENTS, currency="EUR",
        status=PaymentStatus.OPEN, status_history=[], created_at=now, updated_at=now,
    )
    # Written at the commit, with the consent: no lock is held while the provider answers.
    session.add(payment)
    remote = provider.create_payment(PaymentOrder(
        amount_cents=VERIFICATION_AMOUNT_CENTS, currency="EUR",
        description=f"{mandate.merchant.display_name[:50]} mandate {mandate.reference}",
        redirect_url=return_url, webhook_url=webhook_url,
        metadata={"mandate": mandate.public_id, "payment": payment.public_id},
        customer_name=mandate.debtor_name or mandate.customer.name,
        customer_email=mandate.customer.email, locale=mandate.locale,
    ))
    payment.provider_payment_id = remote.id
    payment.checkout_url = remote.checkout_url
    _history(payment, remote.status, "create", now)
    record_audit(session, action="verification.start", subject=mandate.public_id,
                 actor="customer", merchant_id=mandate.merchant_id, now=now,
                 data={"payment": payment.public_id, "provider": provider.name,
                       "provider_payment_id": remote.id, "amount_cents": payment.amount_cents})
    return payment


#: Built once: the signing pages ask on every step.
_LATEST_PAYMENT = (select(VerificationPayment)
                   .where(VerificationPayment.mandate_id == bindparam("mandate_id"))
                   .order_by(VerificationPayment.id.desc()).limit(1))


def latest_payment(session: Session, mandate: Mandate) -> VerificationPayment | None:
    return session.scalar(_LATEST_PAYMENT, {"mandate_id": mandate.id})


def find_payment(session: Session, provider: str, provider_payment_id: str) -> VerificationPayment:
    payment = session.scalar(select(VerificationPayment).where(
        VerificationPayment.provider == provider,
        VerificationPayment.provider_payment_id == provider_payment_id))
    if payment is None:
        raise UnknownPayment(provider_payment_id)
    return payment


def apply_provider_status(
    session: Session, payment: VerificationPayment, provider: PaymentProvider, *, source: str,
    clock: Clock,
) -> Outcome:
    """Fetch the payment from the provider and apply it; safe to call any number of times, from
    the customer's return and the webhook at once: the first caller to lock the payment row
    activates, the others find the mandate active. Commits."""
    return apply_provider_status_of(session, payment.id, payment.provider_payment_id or "",
                                    provider, source=source, clock=clock)


def apply_provider_status_of(
    session: Session, payment_id: int, provider_payment_id: str, provider: PaymentProvider, *,
    source: str, clock: Clock,
) -> Outcome:
    """:func:`apply_provider_status` for a payment known by its row id and the provider's id
    (a webhook, which need not load the payment: it is re-read under the lock anyway)."""
    remote = provider.get_payment(provider_payment_id)
    now = clock()
    for attempt in range(3):
        try:
            outcome = _apply_locked(session, payment_id, remote, source, now)
            session.commit()
            return outcome
        except StaleDataError:  # someone else changed the mandate between our read and write
            session.rollback()
    raise RuntimeError("verification could not be applied after 3 attempts")


#: The lock's write, on the table (no ORM bulk-update machinery; the row is re-read after it).
_LOCK_PAYMENT = (update(table_of(VerificationPayment))
                 .where(table_of(VerificationPayment).c.id == bindparam("payment_id"))
                 .values(updated_at=bindparam("now")))


@functools.cache
def _locked_payment() -> Select[VerificationPayment, Mandate]:
    """The payment and its mandate, re-read under the lock in one statement, with what an
    activation reads of the mandate (its customer and merchant); built once, on first use
    (its loader options need every mapper configured)."""
    return (select(VerificationPayment, Mandate)
            .join(Mandate, Mandate.id == VerificationPayment.mandate_id)
            .options(joinedload(Mandate.customer), joinedload(Mandate.merchant))
            .where(VerificationPayment.id == bindparam("id")))


def _apply_locked(session: Session, payment_id: int, remote: ProviderPayment, source: str,
                  now: datetime) -> Outcome:
    # Writing first takes the row lock (PostgreSQL) or the database write lock (SQLite), so the
    # reads below see every earlier confirmation.
    session.execute(_LOCK_PAYMENT, {"payment_id": payment_id, "now": now})
    payment, mandate = session.execute(_locked_payment(), {"id": payment_id}, execution_options={
        "populate_existing": True}).one()
    changed = payment.status != remote.status
    if changed:
        _history(payment, remote.status, source, now)
        payment.status = remote.status
    if remote.payer_name:
        payment.payer_name = remote.payer_name[:140]
    if remote.payer_bic:
        payment.payer_bic = remote.payer_bic[:11]
    if remote.provider_mandate_id:
        payment.provider_mandate_id = remote.provider_mandate_id
    if remote.payer_iban:
        payment.payer_iban_masked = mask_iban(normalize_iban(remote.payer_iban))

    if mandate.status == MandateStatus.ACTIVE:
        return Outcome.ALREADY_ACTIVE
    if mandate.status != MandateStatus.AWAITING_VERIFICATION:
        return Outcome.CLOSED
    if remote.status == PaymentStatus.PAID:
        return _activate(session, mandate, payment, remote, now)
    if remote.status.is_final:
        if changed:  # told once, however often the return and the webhook ask
            _verification_failed(session, mandate, payment, remote.status, source, now)
        return Outcome.RETRY
    return Outcome.PENDING


def _verification_failed(session: Session, mandate: Mandate, payment: VerificationPayment,
                         status: PaymentStatus, source: str, now: datetime) -> None:
    """The cent failed, was cancelled or expired: the customer may try again (the mandate stays
    awaiting verification); the audit trail and the merchant hear why."""
    mandate.updated_at = now  # a new version: the signing page now offers a retry
    record_audit(session, action=f"verification.{status.value}", subject=mandate.public_id,
                 actor=f"provider:{payment.provider}", merchant_id=mandate.merchant_id, now=now,
                 data={"payment": payment.public_id, "source": source})
    emit_event(session, merchant_id=mandate.merchant_id, type="mandate.verification_failed",
               subject=mandate.public_id, now=now,
               data={"mandate": mandate.public_id, "status": mandate.status.value,
                     "payment": payment.public_id, "reason": status.value})


def _activate(session: Session, mandate: Mandate, payment: VerificationPayment,
              remote: ProviderPayment, now: datetime) -> Outcome:
    activated = activate_from_payment(
        session, mandate, provider=payment.provider,
        provider_payment_id=payment.provider_payment_id or "", payment_public_id=payment.public_id,
        status_history=payment.status_history, payer_iban=remote.payer_iban,
        payer_bic=remote.payer_bic, now=now)
    if not activated:
        return Outcome.REJECTED
    if remote.provider_mandate_id and remote.provider_customer_id:
        from portal.payments.stored import record_stored_mandate
        from portal.providers.base import MandateState
        from portal.providers.base import ProviderMandate as RemoteMandate

        record_stored_mandate(session, mandate.customer, provider=payment.provider, now=now,
                              mandate=mandate, remote=RemoteMandate(
                                  id=remote.provider_mandate_id,
                                  customer_id=remote.provider_customer_id,
                                  status=MandateState.VALID, method="directdebit",
                                  consumer_name=remote.payer_name,
                                  consumer_iban=remote.payer_iban, consumer_bic=remote.payer_bic))
    if mandate.merchant.refund_verification:
        from portal.payments.refunds import queue_verification_refund

        queue_verification_refund(session, payment, now=now)
    return Outcome.ACTIVATED


def activate_from_payment(
    session: Session, mandate: Mandate, *, provider: str, provider_payment_id: str,
    payment_public_id: str, status_history: list[dict], payer_iban: str | None,
    payer_bic: str | None, now: datetime,
) -> bool:
    """Activate a mandate awaiting verification on a paid payment from the debtor's account: the
    account the bank reported becomes the IBAN of record, the evidence gets the payment, the
    sealed PDF is queued. False (and the mandate failed) if that account cannot carry a SEPA
    mandate. Shared by the one-cent verification and the checkout's first payment."""
    typed_masked = mandate.iban_masked
    typed_hash = mandate.iban_hash
    if payer_iban:
        try:
            reported = validate_iban(payer_iban)
        except IbanError as exc:
            apply_transition(session, mandate, MandateAction.FAIL,
                             actor=f"provider:{provider}", now=now,
                             data={"payment": payment_public_id,
                                   "reason": f"reported account unusable: {exc.code}"})
            return False
        set_debtor_account(session, mandate, reported.iban, payer_bic or reported.bic)
    iban_changed = typed_hash is not None and mandate.iban_hash != typed_hash
    mandate.signing_method = SigningMethod.PAYMENT_VERIFICATION
    mandate.signed_at = now
    mandate.evidence = {
        **(mandate.evidence or {}),
        "verified_at": now.isoformat(),
        "provider": provider,
        "provider_payment_id": provider_payment_id,
        "payment": payment_public_id,
        "payment_status_history": status_history,
        "typed_iban_masked": typed_masked,
        "reported_iban_masked": mandate.iban_masked,
        "iban_reported_by_bank": bool(payer_iban),
        "iban_changed": iban_changed,
    }
    log.info("mandate %s activated by %s payment %s", mandate.public_id, provider,
             payment_public_id)
    activate_signed_mandate(session, mandate, actor=f"provider:{provider}", now=now, data={
        "payment": payment_public_id,
        "provider_payment_id": provider_payment_id,
        "typed_iban_masked": typed_masked, "typed_iban_hash": typed_hash,
        "reported_iban_masked": mandate.iban_masked,
        "reported_iban_hash": mandate.iban_hash, "iban_changed": iban_changed,
    })
    return True


def activate_signed_mandate(session: Session, mandate: Mandate, *, actor: str, now: datetime,
                            data: dict[str, Any]) -> None:
    """The one way a signed mandate becomes active, whichever method signed it (the one-cent
    payment, the checkout's first payment, the debtor's bank): its open links are used up, the
    sealed PDF and the customer's copy are queued, and the transition writes the audit and
    outbox events, all in the caller's transaction. ``signing_method``, ``signed_at`` and the
    evidence are set before."""
    if mandate.signing_method is None:
        raise ValueError(f"mandate {mandate.public_id} has no signing method")
    with session.no_autoflush:  # the mandate's changes are written once, with the transition
        session.execute(update(Invitation)
                        .where(Invitation.mandate_id == mandate.id, Invitation.used_at.is_(None))
                        .values(used_at=now).execution_options(synchronize_session="evaluate"))
    add_jobs(session, [pdf_job(mandate), *filter(None, [mandate_copy_job(mandate)])])
    MANDATES_SIGNED.labels(mandate.signing_method.value).inc()
    apply_transition(session, mandate, MandateAction.ACTIVATE, actor=actor, now=now, data=data)
