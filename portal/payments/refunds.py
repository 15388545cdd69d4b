"""Refunds (full or partial, through the provider, with their own status and events) and
chargebacks. A refund is written first and sent to the provider by a job, with its own id as the
provider's idempotency key: a crash between the two never loses nor doubles the money."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.events.service import emit_event
from portal.ids import looks_like, new_public_id
from portal.jobs.service import enqueue
from portal.payments.lifecycle import RequestAction, apply_request_transition, status_by_amounts
from portal.payments.models import (
    Chargeback,
    Payment,
    PaymentRequest,
    PaymentSource,
    Refund,
    RefundStatus,
)
from portal.payments.service import lock_request
from portal.providers.base import (
    PaymentProvider,
    PaymentStatus,
    ProviderChargeback,
    ProviderRefund,
    RefundState,
)
from portal.verification.models import VerificationPayment

SUBMIT_JOB = "payments.submit_refund"


class RefundRefused(ValueError):
    """The refund cannot be made; the message says why (e.g. more than was paid)."""


def refundable_cents(session: Session, payment: Payment) -> int:
    """What can still go back: paid, less refunds not failed, less chargebacks."""
    if payment.status != PaymentStatus.PAID or payment.counted_at is None:
        return 0
    reserved = session.scalar(select(func.coalesce(func.sum(Refund.amount_cents), 0)).where(
        Refund.payment_id == payment.id, Refund.status != RefundStatus.FAILED)) or 0
    return max(0, payment.amount_cents - int(reserved) - payment.charged_back_cents)


def request_refundable_cents(session: Session, request: PaymentRequest) -> int:
    return sum(refundable_cents(session, p) for p in request.payments)


def create_refund(session: Session, request: PaymentRequest, amount_cents: int | None, *,
                  payment: Payment | None = None, description: str | None = None,
                  actor: str, now: datetime) -> Refund:
    """Refund (part of) what was paid on the request: from ``payment``, or the payment with the
    most left to refund. More than can still be refunded is :class:`RefundRefused`. A provider
    payment's refund is sent by a job; an external payment's refund (made outside the portal)
    is recorded as done. Emits ``refund.created``; the caller commits."""
    request = lock_request(session, request.id, now)
    candidates = [payment] if payment is not None else list(request.payments)
    best = max(candidates, key=lambda p: refundable_cents(session, p), default=None)
    left = refundable_cents(session, best) if best is not None else 0
    amount = left if amount_cents is None else amount_cents
    if best is None or left == 0:
        raise RefundRefused("Nothing paid on this request can be refunded.")
    if amount <= 0:
        raise RefundRefused("The amount must be at least 1 cent.")
    if amount > left:
        total = request_refundable_cents(session, request)
        where = "this payment" if payment is not None or total == left else "one payment"
        raise RefundRefused(f"At most {left} cents can be refunded from {where} "
                            f"({total} on the whole request).")
    refund = Refund(
        public_id=new_public_id("rfd"), merchant_id=request.merchant_id, request=request,
        payment=best, amount_cents=amount, status=RefundStatus.PENDING, source=best.source,
        provider=best.provider, provider_payment_id=best.provider_payment_id,
        description=(description or f"Refund {request.invoice_number or request.description}")
        [:140], automatic=False, created_at=now, updated_at=now)
    session.add(refund)
    session.flush()
    _created(session, refund, actor=actor, now=now)
    if best.source is PaymentSource.EXTERNAL:
        settle_refund(session, refund, RefundStatus.SUCCEEDED, now=now, actor=actor)
    else:
        enqueue(session, SUBMIT_JOB, {"refund": refund.public_id},
                dedupe_key=f"{SUBMIT_JOB}:{refund.public_id}")
    return refund


def queue_verification_refund(session: Session, verification: VerificationPayment, *,
                              now: datetime) -> Refund:
    """Refund the one-cent verification once the mandate is active (the merchant's setting)."""
    existing = session.scalar(select(Refund).where(
        Refund.verification_payment_id == verification.id))
    if existing is not None:
        return existing
    refund = Refund(
        public_id=new_public_id("rfd"), merchant_id=verification.merchant_id,
        verification_payment_id=verification.id, amount_cents=verification.amount_cents,
        status=RefundStatus.PENDING, source=PaymentSource.PROVIDER,
        provider=verification.provider, provider_payment_id=verification.provider_payment_id,
        description=f"Refund of the account check {verification.mandate.reference}"[:140],
        automatic=True, created_at=now, updated_at=now)
    session.add(refund)
    session.flush()
    _created(session, refund, actor="system", now=now,
             extra={"mandate": verification.mandate.public_id,
                    "verification_payment": verification.public_id})
    enqueue(session, SUBMIT_JOB, {"refund": refund.public_id},
            dedupe_key=f"{SUBMIT_JOB}:{refund.public_id}")
    return refund


def refund_data(refund: Refund, extra: dict[str, Any] | None = None) -> dict[str, Any]:
    data: dict[str, Any] = {
        "refund": refund.public_id, "status": refund.status.value, "amount": refund.amount_cents,
        "payment": refund.payment.public_id if refund.payment else None,
        "payment_request": refund.request.public_id if refund.request else None,
        "automatic": refund.automatic}
    if refund.failure_reason:
        data["reason"] = refund.failure_reason
    return {**data, **(extra or {})}


def _created(session: Session, refund: Refund, *, actor: str, now: datetime,
             extra: dict[str, Any] | None = None) -> None:
    record_audit(session, action="refund.create", subject=refund.public_id, actor=actor,
                 merchant_id=refund.merchant_id, now=now, data=refund_data(refund, extra))
    emit_event(session, merchant_id=refund.merchant_id, type="refund.created",
               subject=refund.public_id, now=now, data=refund_data(refund, extra))


def submit_refund(session: Session, refund: Refund, provider: PaymentProvider, *,
                  now: datetime) -> None:
    """Send a pending refund to the provider (idempotent: the refund's id is the key); a
    refusal fails the refund. ProviderUnavailable propagates (the job retries)."""
    from portal.providers.base import ProviderError, ProviderUnavailable

    if refund.status is not RefundStatus.PENDING or refund.provider_refund_id:
        return
    try:
        remote = provider.create_refund(refund.provider_payment_id or "", refund.amount_cents,
                                        description=refund.description,
                                        idempotency_key=refund.public_id)
    except ProviderUnavailable:
        raise
    except ProviderError as exc:
        refund.failure_reason = str(exc)[:200]
        settle_refund(session, refund, RefundStatus.FAILED, now=now,
                      actor=f"provider:{refund.provider}")
        return
    refund.provider_refund_id = remote.id
    refund.updated_at = now
    apply_remote_refund(session, refund, remote, now=now)


_STATES = {RefundState.PENDING: RefundStatus.PENDING, RefundState.SUCCEEDED:
           RefundStatus.SUCCEEDED, RefundState.FAILED: RefundStatus.FAILED}


def apply_remote_refund(session: Session, refund: Refund, remote: ProviderRefund, *,
                        now: datetime) -> None:
    status = _STATES[remote.status]
    if status is not RefundStatus.PENDING and refund.status is RefundStatus.PENDING:
        if status is RefundStatus.FAILED:
            refund.failure_reason = refund.failure_reason or f"provider: {remote.raw_status}"
        settle_refund(session, refund, status, now=now, actor=f"provider:{refund.provider}")


def settle_refund(session: Session, refund: Refund, status: RefundStatus, *, now: datetime,
                  actor: str) -> None:
    """A pending refund succeeded (the money went back: the request's amounts and status
    follow) or failed (nothing went back); ``refund.succeeded`` or ``refund.failed``, once."""
    if refund.status is not RefundStatus.PENDING:
        return
    refund.status = status
    refund.updated_at = now
    request = refund.request
    if status is RefundStatus.SUCCEEDED and request is not None and refund.payment is not None:
        request = lock_request(session, request.id, now)
        refund.payment.refunded_cents += refund.amount_cents
        request.refunded_cents += refund.amount_cents
        apply_request_transition(session, request, RequestAction.REFUND,
                                 status_by_amounts(request), actor=actor, now=now,
                                 data={"refund": refund.public_id,
                                       "amount_cents": refund.amount_cents})
    kind = "refund.succeeded" if status is RefundStatus.SUCCEEDED else "refund.failed"
    record_audit(session, action=kind, subject=refund.public_id, actor=actor,
                 merchant_id=refund.merchant_id, now=now, data=refund_data(refund))
    emit_event(session, merchant_id=refund.merchant_id, type=kind, subject=refund.public_id,
               now=now, data=refund_data(refund))


def sync_refunds(session: Session, provider_name: str, provider_payment_id: str,
                 remotes: list[ProviderRefund], *, payment: Payment | None, now: datetime) -> None:
    """Bring our refunds in line with the provider's list (a webhook or a return): settle ours,
    and record refunds made elsewhere (the provider's dashboard) as our own."""
    ours = {r.provider_refund_id: r for r in session.scalars(select(Refund).where(
        Refund.provider == provider_name, Refund.provider_payment_id == provider_payment_id))}
    for remote in remotes:
        refund = ours.get(remote.id)
        if refund is None and payment is not None and payment.counted_at is not None:
            refund = Refund(
                public_id=new_public_id("rfd"), merchant_id=payment.merchant_id,
                request=payment.request, payment=payment, amount_cents=remote.amount_cents,
                status=RefundStatus.PENDING, source=PaymentSource.PROVIDER,
                provider=provider_name, provider_payment_id=provider_payment_id,
                provider_refund_id=remote.id, description="Refund made at the provider",
                automatic=False, created_at=now, updated_at=now)
            session.add(refund)
            session.flush()
            _created(session, refund, actor=f"provider:{provider_name}", now=now)
        if refund is not None:
            apply_remote_refund(session, refund, remote, now=now)


def record_chargebacks(session: Session, payment: Payment, remotes: list[ProviderChargeback], *,
                       now: datetime) -> list[Chargeback]:
    """New chargebacks on a counted payment: the money left again, the request's amounts and
    status follow (it may be open again), and ``chargeback.received`` goes out, once each."""
    known = set(session.scalars(select(Chargeback.provider_chargeback_id).where(
        Chargeback.payment_id == payment.id)))
    added = []
    for remote in remotes:
        if remote.id in known or remote.reversed or payment.counted_at is None:
            continue
        request = lock_request(session, payment.request_id, now)
        chargeback = Chargeback(
            public_id=new_public_id("cbk"), merchant_id=payment.merchant_id, request_id=request.id,
            payment=payment, provider=payment.provider or "", provider_chargeback_id=remote.id,
            amount_cents=remote.amount_cents, reason_code=remote.reason_code,
            reason=(remote.reason or "")[:200] or None, created_at=now)
        session.add(chargeback)
        payment.charged_back_cents += remote.amount_cents
        request.charged_back_cents += remote.amount_cents
        session.flush()
        apply_request_transition(session, request, RequestAction.CHARGEBACK,
                                 status_by_amounts(request), actor=f"provider:{payment.provider}",
                                 now=now, data={"chargeback": chargeback.public_id,
                                                "amount_cents": remote.amount_cents})
        data = {"chargeback": chargeback.public_id, "payment": payment.public_id,
                "payment_request": request.public_id, "amount": remote.amount_cents,
                "reason_code": remote.reason_code, "reason": chargeback.reason,
                "status": request.status.value, "open_amount": request.open_cents}
        record_audit(session, action="chargeback.received", subject=chargeback.public_id,
                     actor=f"provider:{payment.provider}", merchant_id=payment.merchant_id,
                     now=now, data=data)
        emit_event(session, merchant_id=payment.merchant_id, type="chargeback.received",
                   subject=chargeback.public_id, now=now, data=data)
        added.append(chargeback)
    return added


def find_refund(session: Session, merchant_id: int, public_id: str) -> Refund | None:
    if not looks_like(public_id, "rfd"):
        return None
    return session.scalar(select(Refund).where(Refund.public_id == public_id,
                                               Refund.merchant_id == merchant_id))


def refund_by_id(session: Session, public_id: str) -> Refund | None:
    if not looks_like(public_id, "rfd"):
        return None
    return session.scalar(select(Refund).where(Refund.public_id == public_id))
