"""The payment request and payment state machines: tables of allowed transitions, the one
function applying each, and three distinct errors, as Indico's payments have them: an
*invalid* transition, an *ignored repeat* (the same status reported again) and a *double
payment* (money arriving for a request that was already paid)."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.events.service import emit_event
from portal.payments.models import Payment, PaymentRequest, RequestStatus
from portal.providers.base import PaymentStatus

S = RequestStatus


class RequestAction(enum.StrEnum):
    #: A payment arrived (counted once toward the received amount).
    RECEIVE = "receive"
    #: A payment arrived for a request that was paid already: recorded, never lost.
    RECEIVE_DOUBLE = "receive_double"
    #: Money went back to the payer (a refund succeeded).
    REFUND = "refund"
    #: The payer's bank took money back.
    CHARGEBACK = "chargeback"
    EXPIRE = "expire"
    WITHDRAW = "withdraw"


A = RequestAction
_AMOUNT_STATES = frozenset({S.OPEN, S.PARTLY_PAID, S.PAID, S.OVERPAID, S.PARTLY_REFUNDED,
                            S.REFUNDED})
_HOLDS_MONEY = frozenset({S.PARTLY_PAID, S.PAID, S.OVERPAID, S.PARTLY_REFUNDED, S.EXPIRED,
                          S.WITHDRAWN})
#: A request in one of these owes nothing more: a new payment on it is a double payment.
SETTLED = frozenset({S.PAID, S.OVERPAID})

#: (current status, action) → the statuses it may lead to (which one: the amounts decide).
TRANSITIONS: dict[tuple[RequestStatus, RequestAction], frozenset[RequestStatus]] = {
    **{(status, A.RECEIVE): frozenset({S.PARTLY_PAID, S.PAID, S.OVERPAID, S.PARTLY_REFUNDED})
       for status in (S.OPEN, S.PARTLY_PAID, S.EXPIRED, S.WITHDRAWN, S.PARTLY_REFUNDED,
                      S.REFUNDED)},
    **{(status, A.RECEIVE_DOUBLE): frozenset({S.OVERPAID}) for status in SETTLED},
    **{(status, A.REFUND): frozenset({S.PARTLY_REFUNDED, S.REFUNDED, S.PAID, S.OVERPAID})
       for status in _HOLDS_MONEY},
    **{(status, A.CHARGEBACK): _AMOUNT_STATES | {S.EXPIRED, S.WITHDRAWN}
       for status in _HOLDS_MONEY | {S.REFUNDED}},
    (S.OPEN, A.EXPIRE): frozenset({S.EXPIRED}),
    (S.PARTLY_PAID, A.EXPIRE): frozenset({S.EXPIRED}),
    (S.OPEN, A.WITHDRAW): frozenset({S.WITHDRAWN}),
    (S.PARTLY_PAID, A.WITHDRAW): frozenset({S.WITHDRAWN}),
}

#: The merchant event a transition into a status emits, per action (none: the refund or
#: chargeback service emits its own event).
_RECEIVED_EVENTS = {S.PAID: "payment_request.paid", S.PARTLY_PAID: "payment_request.partly_paid",
                    S.OVERPAID: "payment_request.overpaid",
                    S.PARTLY_REFUNDED: "payment_request.partly_paid"}
EVENT_TYPES: dict[RequestAction, dict[RequestStatus, str]] = {
    A.RECEIVE: _RECEIVED_EVENTS,
    A.RECEIVE_DOUBLE: _RECEIVED_EVENTS,
    A.EXPIRE: {S.EXPIRED: "payment_request.expired"},
    A.WITHDRAW: {S.WITHDRAWN: "payment_request.withdrawn"},
}


class InvalidTransition(Exception):
    """The action (or the status reported) is not allowed from the current status."""

    def __init__(self, current: str, action: str, target: str | None = None) -> None:
        detail = f" to {target}" if target else ""
        super().__init__(f"cannot {action}{detail} from {current}")
        self.current, self.action, self.target = current, action, target


class IgnoredRepeat(Exception):
    """The same status was reported again (the webhook and the return both confirm): it counts
    once; the repeat is noted in the payment's history."""

    def __init__(self, status: str) -> None:
        super().__init__(f"already {status}")
        self.status = status


class DoublePayment(Exception):
    """A new payment completed for a request that was already paid: the money is recorded (the
    request becomes overpaid, refundable) and the merchant is told."""

    def __init__(self, request: PaymentRequest) -> None:
        super().__init__(f"payment request {request.public_id} is already {request.status.value}")
        self.request = request


def status_by_amounts(request: PaymentRequest) -> RequestStatus:
    """The status the request's amounts describe; a closed request with nothing kept stays
    closed (expired, withdrawn)."""
    net = request.net_received_cents
    kept = net - request.refunded_cents
    amount = request.amount_cents
    if request.refunded_cents > 0:
        if kept <= 0:
            return S.REFUNDED
        if kept < amount:
            return S.PARTLY_REFUNDED
    if kept <= 0:
        if request.withdrawn_at is not None:
            return S.WITHDRAWN
        return S.EXPIRED if request.expired_at is not None else S.OPEN
    if kept < amount:
        return S.PARTLY_PAID
    return S.PAID if kept == amount else S.OVERPAID


def check_receive(request: PaymentRequest) -> None:
    """Raise :class:`DoublePayment` when a new payment would pay a settled request again."""
    if request.status in SETTLED:
        raise DoublePayment(request)


def apply_request_transition(
    session: Session, request: PaymentRequest, action: RequestAction, target: RequestStatus,
    *, actor: str, now: datetime, data: dict[str, Any] | None = None,
) -> RequestStatus:
    """Move the request, writing its audit event and its merchant event (if the move has one)
    in the caller's transaction."""
    allowed = TRANSITIONS.get((request.status, action))
    if action is A.RECEIVE and request.status in SETTLED:
        raise DoublePayment(request)
    if allowed is None or target not in allowed:
        raise InvalidTransition(request.status.value, action.value, target.value)
    previous = request.status
    request.status = target
    request.updated_at = now
    details = {"from": previous.value, "to": target.value, **(data or {})}
    record_audit(session, action=f"payment_request.{action.value}", subject=request.public_id,
                 actor=actor, merchant_id=request.merchant_id, data=details, now=now)
    event_type = EVENT_TYPES.get(action, {}).get(target)
    if event_type is not None:
        emit_event(session, merchant_id=request.merchant_id, type=event_type,
                   subject=request.public_id, now=now,
                   data=event_data(request, previous, data))
    return target


def event_data(request: PaymentRequest, previous: RequestStatus | None = None,
               extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every payment request event tells: ids, status and the amounts after the change."""
    data: dict[str, Any] = {
        "payment_request": request.public_id, "status": request.status.value,
        "amount": request.amount_cents, "paid_amount": request.net_received_cents,
        "open_amount": request.open_cents, "refunded_amount": request.refunded_cents,
        "invoice_number": request.invoice_number,
    }
    if previous is not None:
        data["previous_status"] = previous.value
    data.update({k: v for k, v in (extra or {}).items() if k in EVENT_FIELDS})
    return data


#: Details of a transition that go into its event (the rest stays in the audit trail).
EVENT_FIELDS = frozenset({"payment", "late", "double_payment", "source", "reason", "method",
                          "fallback", "refund", "chargeback"})


# -- A single payment ------------------------------------------------------------------------

P = PaymentStatus
#: A payment's statuses as providers report them: from open or pending to a final one.
PAYMENT_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    P.OPEN: frozenset({P.PENDING, P.PAID, P.FAILED, P.CANCELED, P.EXPIRED}),
    P.PENDING: frozenset({P.OPEN, P.PAID, P.FAILED, P.CANCELED, P.EXPIRED}),
}


def apply_payment_status(payment: Payment, status: PaymentStatus, *, source: str,
                         now: datetime) -> PaymentStatus:
    """Record a reported status on the payment: :class:`IgnoredRepeat` for the same status
    again, :class:`InvalidTransition` for a final status changing (both noted in its history)."""
    current = payment.status
    if status == current:
        _note(payment, status, source, now, "repeat ignored")
        raise IgnoredRepeat(status.value)
    if status not in PAYMENT_TRANSITIONS.get(current, frozenset()):
        _note(payment, status, source, now, "invalid transition")
        raise InvalidTransition(current.value, "report", status.value)
    _note(payment, status, source, now)
    payment.status = status
    payment.updated_at = now
    return status


def _note(payment: Payment, status: PaymentStatus, source: str, now: datetime,
          outcome: str | None = None) -> None:
    entry = {"status": status.value, "at": now.isoformat(), "source": source}
    if outcome:
        entry["outcome"] = outcome
    payment.history = [*(payment.history or []), entry]
