"""Payment requests: create one (from the API, the console, a CSV batch or the collections
engine: all through :func:`create_payment_request`), record a payment from any source exactly
once (:func:`count_payment`), ask what is still open, withdraw and expire.

Every change of a request's money takes the request's row lock first (an UPDATE before any read:
PostgreSQL's row lock, SQLite's write lock), so two partial payments confirmed at the same moment
add up, and a payment confirmed twice (return and webhook) counts once."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Select, select, update
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.db import where_given
from portal.events.service import emit_event
from portal.ids import looks_like, new_public_id
from portal.jobs.models import Job
from portal.jobs.service import enqueue
from portal.mandates.models import Customer
from portal.merchants.models import Merchant
from portal.payments.lifecycle import (
    DoublePayment,
    RequestAction,
    apply_request_transition,
    check_receive,
    event_data,
    status_by_amounts,
)
from portal.payments.models import (
    Collect,
    Payment,
    PaymentRequest,
    PaymentSource,
    RequestStatus,
)
from portal.payments.reminders import reminder_channels, reminder_offsets, reminder_times
from portal.providers.base import PaymentStatus

EXPIRY_JOB = "payments.expire"
CHARGE_JOB = "payments.charge"
MESSAGE_JOB = "payments.message"
REMINDER_JOB = "payments.reminder"
CHANNELS = ("email", "sms", "none")


class Counted(enum.StrEnum):
    """What counting a payment did."""

    COUNTED = "counted"
    #: It paid a request that was already paid: recorded as a double payment (overpaid).
    DOUBLE = "double"
    #: It had been counted before: nothing changed.
    REPEAT = "repeat"


@dataclass(frozen=True)
class CustomerDetails:
    """A new customer, as the merchant knows them."""

    name: str
    email: str | None = None
    phone: str | None = None
    locale: str | None = None
    external_reference: str | None = None


@dataclass(frozen=True)
class RequestSpec:
    """What a payment request asks; ``customer`` is an existing customer or a new one."""

    amount_cents: int
    description: str
    customer: Customer | CustomerDetails
    expires_at: datetime
    invoice_number: str | None = None
    external_reference: str | None = None
    due_date: date | None = None
    methods: tuple[str, ...] | None = None
    allow_partial: bool = False
    #: None: the merchant's setting.
    offer_mandate: bool | None = None
    collect: Collect = Collect.AUTOMATIC
    return_url: str | None = None
    #: ``email`` or ``sms`` sends it now (reminders follow); ``none`` leaves it to the merchant.
    channel: str = "none"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if isinstance(self.amount_cents, bool) or not isinstance(self.amount_cents, int):
            raise TypeError("amount_cents must be an int")
        if self.amount_cents <= 0:
            raise ValueError("amount_cents must be positive")
        if self.channel not in CHANNELS:
            raise ValueError(f"channel must be one of {CHANNELS}")


@dataclass(frozen=True)
class PaymentSettings:
    """The portal's settings the payment rules need (from ``app.config``)."""

    #: Reminders in days around the due date, unless the merchant has its own schedule.
    reminder_days: tuple[int, ...] = (-3, 0, 7)
    sms_enabled: bool = False

    @classmethod
    def from_config(cls, config: Any) -> PaymentSettings:
        return cls(reminder_days=tuple(config["PAYMENT_REMINDER_DAYS"]),
                   sms_enabled=config["SMS_TRANSPORT"] in ("file", "http"))


def create_payment_request(session: Session, merchant: Merchant, spec: RequestSpec, *,
                           actor: str, now: datetime, settings: PaymentSettings
                           ) -> PaymentRequest:
    """Create the request (and its customer when new), its short link, its expiry, the message
    that sends it and its reminders, and, for a customer whose card token or provider mandate is
    valid and ``collect`` is automatic, the charge on it; ``payment_request.created`` goes out
    with it. Everything commits with the caller's transaction."""
    from portal.payments.stored import usable_stored_mandate
    from portal.shortlinks.service import create_request_short_link

    customer = spec.customer
    if isinstance(customer, CustomerDetails):
        customer = Customer(
            public_id=new_public_id("cus"), merchant_id=merchant.id, name=customer.name,
            email=customer.email, phone=customer.phone, locale=customer.locale or merchant.locale,
            external_reference=customer.external_reference, created_at=now)
        session.add(customer)
    elif customer.merchant_id != merchant.id:
        raise ValueError("the customer belongs to another merchant")
    offer = merchant.offer_mandate_at_checkout if spec.offer_mandate is None else spec.offer_mandate
    request = PaymentRequest(
        public_id=new_public_id("preq"), merchant_id=merchant.id, customer=customer,
        amount_cents=spec.amount_cents, currency="EUR", description=spec.description,
        invoice_number=spec.invoice_number, external_reference=spec.external_reference,
        due_date=spec.due_date, expires_at=spec.expires_at, status=RequestStatus.OPEN,
        received_cents=0, refunded_cents=0, charged_back_cents=0,
        methods=list(spec.methods) if spec.methods else None, allow_partial=spec.allow_partial,
        offer_mandate=offer, collect=spec.collect, return_url=spec.return_url,
        channel=spec.channel, created_at=now, updated_at=now)
    session.add(request)
    session.flush()
    create_request_short_link(session, request, now=now)
    enqueue(session, EXPIRY_JOB, {"payment_request": request.public_id},
            dedupe_key=f"{EXPIRY_JOB}:{request.public_id}", run_at=request.expires_at)
    record_audit(session, action="payment_request.create", subject=request.public_id,
                 actor=actor, merchant_id=merchant.id, now=now,
                 data={"amount_cents": request.amount_cents, "customer": customer.public_id,
                       "invoice_number": request.invoice_number, "channel": request.channel})
    emit_event(session, merchant_id=merchant.id, type="payment_request.created",
               subject=request.public_id, now=now,
               data={**event_data(request), "customer": customer.public_id})
    stored = usable_stored_mandate(session, customer, now) \
        if spec.collect is Collect.AUTOMATIC else None
    if stored is not None:
        enqueue(session, CHARGE_JOB, {"payment_request": request.public_id},
                dedupe_key=f"{CHARGE_JOB}:{request.public_id}")
    elif request.channel != "none":
        queue_message(session, request, "request", request.channel)
    if request.channel != "none":
        schedule_reminders(session, request, now, settings)
    return request


def message_key(kind: str, channel: str, *, step: int | None = None,
                payment: str | None = None, resend: int | None = None) -> str:
    """The message's key in the request's log: one message per key goes out."""
    if resend is not None:
        return f"{kind}:resend:{resend}:{channel}"
    if payment is not None:
        return f"{kind}:{payment}:{channel}"
    if step is not None:
        return f"{kind}:{step}:{channel}"
    return f"{kind}:{channel}"


def queue_message(session: Session, request: PaymentRequest, kind: str, channel: str, *,
                  step: int | None = None, payment: Payment | None = None,
                  run_at: datetime | None = None, resend: int | None = None) -> Job:
    """Send a message about the request in the background (once: the job's dedupe key)."""
    payload: dict[str, Any] = {"payment_request": request.public_id, "kind": kind,
                               "channel": channel}
    if step is not None:
        payload["step"] = step
    if payment is not None:
        payload["payment"] = payment.public_id
    if resend is not None:
        payload["resend"] = resend
    key = message_key(kind, channel, step=step, resend=resend,
                      payment=payment.public_id if payment is not None else None)
    return enqueue(session, MESSAGE_JOB if kind != "reminder" else REMINDER_JOB, payload,
                   dedupe_key=f"payments:{request.public_id}:{key}", run_at=run_at)


# -- Finding ------------------------------------------------------------------------------------

def find_payment_request(session: Session, merchant_id: int, public_id: str
                         ) -> PaymentRequest | None:
    """The merchant's request with this id; another merchant's is None, like a missing one."""
    if not looks_like(public_id, "preq"):
        return None
    return session.scalar(select(PaymentRequest).where(PaymentRequest.public_id == public_id,
                                                       PaymentRequest.merchant_id == merchant_id))


def request_by_id(session: Session, public_id: str) -> PaymentRequest | None:
    """The request a job or link names (they carry public ids)."""
    if not looks_like(public_id, "preq"):
        return None
    return session.scalar(select(PaymentRequest).where(PaymentRequest.public_id == public_id))


def find_customer(session: Session, merchant_id: int, public_id: str) -> Customer | None:
    if not looks_like(public_id, "cus"):
        return None
    return session.scalar(select(Customer).where(Customer.public_id == public_id,
                                                 Customer.merchant_id == merchant_id))


def merchant_requests(merchant_id: int, *, status: RequestStatus | None = None,
                      customer_id: int | None = None, invoice_number: str | None = None,
                      external_reference: str | None = None) -> Select[Any]:
    """The merchant's requests, optionally filtered (unordered; callers paginate)."""
    return where_given(select(PaymentRequest).where(PaymentRequest.merchant_id == merchant_id),
                       (PaymentRequest.status, status), (PaymentRequest.customer_id, customer_id),
                       (PaymentRequest.invoice_number, invoice_number),
                       (PaymentRequest.external_reference, external_reference))


def open_amount(request: PaymentRequest) -> int:
    """What the customer still owes, in cents (collections reduce a debit to this)."""
    return request.open_cents


def payable(request: PaymentRequest, now: datetime) -> bool:
    """The link takes a payment: something is open, and it is neither expired nor withdrawn."""
    return request.open_cents > 0 and not request.closed and request.expires_at > now


def schedule_reminders(session: Session, request: PaymentRequest, now: datetime,
                       settings: PaymentSettings) -> int:
    """Queue a job per step and channel still ahead and before expiry; idempotent (dedupe
    keys). Returns how many were queued."""
    queued = 0
    offsets = reminder_offsets(request.merchant, settings.reminder_days)
    for number, at in reminder_times(request, offsets):
        if at <= now or at >= request.expires_at:
            continue
        for channel in reminder_channels(request, settings.sms_enabled):
            queue_message(session, request, "reminder", channel, step=number, run_at=at)
            queued += 1
    return queued


def reminder_due(request: PaymentRequest, now: datetime) -> bool:
    """A queued reminder still goes out: something is open and the link still takes it."""
    return payable(request, now)


# -- Money in -----------------------------------------------------------------------------------

def lock_request(session: Session, request_id: int, now: datetime) -> PaymentRequest:
    """Take the request's row lock (writing first), then read it as committed by others."""
    session.execute(update(PaymentRequest).where(PaymentRequest.id == request_id)
                    .values(updated_at=now).execution_options(synchronize_session=False))
    request = session.get(PaymentRequest, request_id, populate_existing=True)
    assert request is not None
    return request


def count_payment(session: Session, request: PaymentRequest, payment: Payment, *, actor: str,
                  now: datetime) -> Counted:
    """Add a paid payment to the request's received amount, once; the caller holds the lock
    (:func:`lock_request`). A late payment (after expiry or withdrawal) and a double payment
    (the request was paid already) are recorded as such, and the merchant hears of them."""
    if payment.counted_at is not None:
        return Counted.REPEAT
    try:
        check_receive(request)
        double = False
    except DoublePayment:
        double = True
    payment.counted_at = now
    payment.paid_at = payment.paid_at or now
    payment.late = request.closed
    payment.double = double
    request.received_cents += payment.amount_cents
    target = status_by_amounts(request)
    if target in (RequestStatus.PAID, RequestStatus.OVERPAID) and request.paid_at is None:
        request.paid_at = now
    action = RequestAction.RECEIVE_DOUBLE if double else RequestAction.RECEIVE
    apply_request_transition(session, request, action, target, actor=actor, now=now, data={
        "payment": payment.public_id, "amount_cents": payment.amount_cents,
        "source": payment.source.value, "method": payment.method, "late": payment.late,
        "double_payment": double})
    if payment.source is PaymentSource.PROVIDER and request.customer.email:
        queue_message(session, request, "receipt", "email", payment=payment)
    return Counted.DOUBLE if double else Counted.COUNTED


def record_external_payment(session: Session, request: PaymentRequest, amount_cents: int, *,
                            method: str | None, reference: str | None, actor: str,
                            now: datetime, paid_at: datetime | None = None) -> Payment:
    """A payment made outside the portal (bank transfer, cash), entered by the merchant: it
    reduces the open amount like any other. The caller commits."""
    if isinstance(amount_cents, bool) or not isinstance(amount_cents, int) or amount_cents <= 0:
        raise ValueError("amount_cents must be a positive int")
    request = lock_request(session, request.id, now)
    payment = Payment(
        public_id=new_public_id("ptx"), merchant_id=request.merchant_id, request=request,
        source=PaymentSource.EXTERNAL, method=method, sequence="oneoff",
        status=PaymentStatus.PAID, amount_cents=amount_cents, refunded_cents=0,
        charged_back_cents=0, external_reference=reference, paid_at=paid_at or now,
        history=[{"status": "paid", "at": now.isoformat(), "source": "external"}],
        created_at=now, updated_at=now)
    session.add(payment)
    session.flush()
    count_payment(session, request, payment, actor=actor, now=now)
    return payment


# -- Closing ------------------------------------------------------------------------------------

def withdraw_payment_request(session: Session, request: PaymentRequest, *, actor: str,
                             now: datetime, reason: str | None = None) -> None:
    """The merchant no longer asks for it: the link stops, reminders stop. InvalidTransition
    once it is paid (or already closed). A payment arriving later is recorded as late."""
    request = lock_request(session, request.id, now)
    from portal.payments.lifecycle import TRANSITIONS, InvalidTransition

    if (request.status, RequestAction.WITHDRAW) not in TRANSITIONS:
        raise InvalidTransition(request.status.value, RequestAction.WITHDRAW.value)
    request.withdrawn_at = now
    apply_request_transition(session, request, RequestAction.WITHDRAW, RequestStatus.WITHDRAWN,
                             actor=actor, now=now, data={"reason": reason} if reason else None)


# -- Sending again ------------------------------------------------------------------------------

class ResendRefused(Exception):
    """The link is not sent again; the message says why, for the staff member."""


class Resend(enum.StrEnum):
    #: Queued: the customer gets the link again (audited, ``payment_request.resent``).
    SENT = "sent"
    #: The same resend a moment ago (within the minute) is queued already: nothing more.
    REPEAT = "repeat"


def resend_payment_request(session: Session, request: PaymentRequest, *, actor: str,
                           now: datetime, sms_available: bool) -> Resend:
    """Send the link to the customer again (they lost it), the way it was sent, or by email
    when it was only shown (a QR code at the counter). ResendRefused when the link takes no
    payment any more, or the customer cannot be reached that way."""
    if not payable(request, now):
        raise ResendRefused(f"the request is {request.status.value.replace('_', ' ')}"
                            if request.closed or request.open_cents <= 0
                            else "the request has expired")
    channel = request.channel if request.channel in ("email", "sms") else "email"
    customer = request.customer
    if channel == "sms" and not sms_available:
        raise ResendRefused("this portal does not send text messages")
    if not (customer.phone if channel == "sms" else customer.email):
        raise ResendRefused("the customer has no mobile number" if channel == "sms"
                            else "the customer has no email address")
    minute = int(now.timestamp()) // 60
    key = message_key("request", channel, resend=minute)
    if session.scalar(select(Job.id).where(
            Job.dedupe_key == f"payments:{request.public_id}:{key}")) is not None:
        return Resend.REPEAT
    queue_message(session, request, "request", channel, resend=minute)
    record_audit(session, action="payment_request.resend", subject=request.public_id,
                 actor=actor, merchant_id=request.merchant_id, now=now,
                 data={"channel": channel})
    emit_event(session, merchant_id=request.merchant_id, type="payment_request.resent",
               subject=request.public_id, now=now,
               data={**event_data(request), "channel": channel})
    return Resend.SENT


def expire_payment_request(session: Session, request: PaymentRequest, *, now: datetime) -> bool:
    """At ``expires_at``, an unpaid (or partly paid) request expires, once; True if it did."""
    request = lock_request(session, request.id, now)
    if request.status not in (RequestStatus.OPEN, RequestStatus.PARTLY_PAID):
        return False
    if request.expires_at > now:
        return False
    request.expired_at = now
    apply_request_transition(session, request, RequestAction.EXPIRE, RequestStatus.EXPIRED,
                             actor="system", now=now)
    return True
