"""What the customer's checkout pages show: where a request and the customer's latest payment
stand, as one outcome (paid, partly paid, failed, cancelled, expired, pending, …)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.ids import looks_like
from portal.payments.links import CheckoutLinkInvalid, read_checkout_token
from portal.payments.models import Payment, PaymentRequest, RequestStatus
from portal.payments.service import payable, request_by_id
from portal.providers.base import PaymentStatus


class CheckoutLinkRefused(Exception):
    """A link that leads nowhere: ``invalid`` (400) or ``unknown`` (404)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def load_request(session: Session, token: str, secret_key: str,
                 fallbacks: list[str]) -> PaymentRequest:
    try:
        public_id = read_checkout_token(token, secret_key, fallbacks)
    except CheckoutLinkInvalid:
        raise CheckoutLinkRefused("invalid") from None
    request = request_by_id(session, public_id)
    if request is None:
        raise CheckoutLinkRefused("unknown")
    return request


def payment_of(session: Session, request: PaymentRequest, public_id: str | None
               ) -> Payment | None:
    """The request's payment a return URL names (another request's is None)."""
    if not public_id or not looks_like(public_id, "ptx"):
        return None
    return session.scalar(select(Payment).where(Payment.public_id == public_id,
                                                Payment.request_id == request.id))


@dataclass(frozen=True)
class Outcome:
    #: paid, partly_paid, pending, failed, cancelled, attempt_expired, expired, withdrawn,
    #: refunded, open
    name: str
    #: The customer may (try to) pay now.
    can_pay: bool
    #: HTTP status of the page.
    status: int = 200


_ATTEMPT = {PaymentStatus.FAILED: "failed", PaymentStatus.CANCELED: "cancelled",
            PaymentStatus.EXPIRED: "attempt_expired"}


def outcome(request: PaymentRequest, payment: Payment | None, now: datetime) -> Outcome:
    """Where the customer stands after (or without) a payment attempt."""
    can_pay = payable(request, now)
    if payment is not None:
        if payment.status in (PaymentStatus.OPEN, PaymentStatus.PENDING):
            return Outcome("pending", False)
        if payment.status in _ATTEMPT and can_pay:
            return Outcome(_ATTEMPT[payment.status], True)
    status = request.status
    if status in (RequestStatus.PAID, RequestStatus.OVERPAID):
        return Outcome("paid", False)
    if status in (RequestStatus.REFUNDED, RequestStatus.PARTLY_REFUNDED):
        return Outcome("refunded", False)
    if request.withdrawn_at is not None:
        return Outcome("withdrawn", False, 410)
    if not can_pay:
        return Outcome("expired", False, 410)
    if status is RequestStatus.PARTLY_PAID:
        return Outcome("partly_paid", True)
    return Outcome("open", True)
