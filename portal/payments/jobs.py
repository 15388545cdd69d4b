"""Background work for payment requests: expiry, charges on stored mandates, refunds sent to the
provider, and every message (the request, reminders, the pay link after a refused charge,
receipts); each message logged in ``payment_message`` and sent at most once per key."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.audit.service import record_audit
from portal.events.service import emit_event
from portal.jobs.service import RetryLater, job_handler
from portal.mail.messages import MailSettings
from portal.mandates.links import Links
from portal.payments.checkout import charge_stored_mandate
from portal.payments.confirmation import apply_provider_payment
from portal.payments.lifecycle import event_data
from portal.payments.links import checkout_url, provider_webhook_url
from portal.payments.messages import (
    claim_message,
    hand_over,
    receipt_email,
    request_email,
    request_sms,
    retry_delay,
)
from portal.payments.models import MessageStatus, Payment, RefundStatus
from portal.payments.refunds import SUBMIT_JOB, refund_by_id, submit_refund
from portal.payments.service import (
    CHARGE_JOB,
    EXPIRY_JOB,
    MESSAGE_JOB,
    REMINDER_JOB,
    expire_payment_request,
    message_key,
    payable,
    queue_message,
    reminder_due,
    request_by_id,
)
from portal.payments.stored import usable_stored_mandate
from portal.providers import ProviderError, ProviderUnavailable
from portal.shortlinks.service import create_request_short_link
from portal.transports import Deferred

log = logging.getLogger(__name__)


@job_handler(EXPIRY_JOB)
def expire(session: Session, payload: dict[str, Any]) -> None:
    request = request_by_id(session, payload["payment_request"])
    if request is None:
        return
    now = get_adapters().clock()
    if request.expires_at > now:
        raise RetryLater("not expired yet", at=request.expires_at)
    expire_payment_request(session, request, now=now)


@job_handler(CHARGE_JOB)
def charge(session: Session, payload: dict[str, Any]) -> None:
    """Charge a new request on the customer's stored card token or mandate; with none usable
    (any more), send the pay link instead."""
    request = request_by_id(session, payload["payment_request"])
    adapters = get_adapters()
    now = adapters.clock()
    if request is None or not payable(request, now):
        return
    if session.scalar(select(Payment.id).where(Payment.request_id == request.id,
                                               Payment.sequence == "recurring")):
        return  # charged before (a retried job): the outcome arrives through the provider
    provider = adapters.payment_provider
    stored = usable_stored_mandate(session, request.customer, now, provider=provider.name)
    if stored is None:
        _send_link_instead(session, request)
        return
    try:
        payment = charge_stored_mandate(
            session, request, stored, provider,
            webhook_url=provider_webhook_url(provider.name),
            redirect_url=checkout_url(request), now=now)
    except ProviderUnavailable:
        raise
    except ProviderError as exc:
        session.rollback()
        log.warning("charge on stored mandate refused: %s", exc)
        _send_link_instead(session, request)
        return
    session.commit()
    apply_provider_payment(session, payment, provider, source="create", now=now)


def _send_link_instead(session: Session, request: Any) -> None:
    channel = request.channel if request.channel != "none" else (
        "email" if request.customer.email else None)
    if channel is not None:
        queue_message(session, request, "request", channel)


@job_handler(SUBMIT_JOB)
def send_refund(session: Session, payload: dict[str, Any]) -> None:
    refund = refund_by_id(session, payload["refund"])
    if refund is None or refund.status is not RefundStatus.PENDING:
        return
    adapters = get_adapters()
    provider = adapters.provider(refund.provider)
    if provider is None:
        raise RetryLater(f"payment provider {refund.provider!r} is not configured any more")
    submit_refund(session, refund, provider, now=adapters.clock())


@job_handler(MESSAGE_JOB)
def send_message(session: Session, payload: dict[str, Any]) -> None:
    _deliver(session, payload)


@job_handler(REMINDER_JOB)
def send_reminder(session: Session, payload: dict[str, Any]) -> None:
    _deliver(session, payload)


def _deliver(session: Session, payload: dict[str, Any]) -> None:
    request = request_by_id(session, payload["payment_request"])
    if request is None:
        return
    kind, channel, step = payload["kind"], payload["channel"], payload.get("step")
    adapters = get_adapters()
    now = adapters.clock()
    payment = None
    if payload.get("payment"):
        payment = session.scalar(select(Payment).where(Payment.public_id == payload["payment"]))
    if kind in ("reminder", "request", "fallback") and not reminder_due(request, now):
        return  # paid, withdrawn or expired since: nothing to ask any more
    if kind == "reminder" and request.reminders_unsubscribed_at is not None:
        return  # the customer asked for no more reminders
    customer = request.customer
    address = customer.email if channel == "email" else customer.phone
    sms = adapters.sms
    if not address or (channel == "sms" and sms is None):
        return
    key = message_key(kind, channel, step=step, resend=payload.get("resend"),
                      payment=payment.public_id if payment is not None else None)
    row = claim_message(session, request, key, kind=kind, channel=channel, step=step, now=now)
    if row is None:
        return
    if channel == "email":
        mail = MailSettings.from_config(current_app.config)
        if kind == "receipt" and payment is not None:
            message = receipt_email(request, payment, settings=mail, now=now)
        else:
            unsubscribe = None
            if kind == "reminder":  # one-click unsubscribe beside the request's short link
                code = create_request_short_link(session, request, now=now).code
                unsubscribe = Links.from_config(current_app.config).unsubscribe_url(code)
            message = request_email(request, checkout_url(request), kind, step=step,
                                    payment=payment, settings=mail, now=now,
                                    unsubscribe_url=unsubscribe)

        def send() -> str:
            adapters.mail.send(message)
            return message["Message-ID"]
    else:
        link = create_request_short_link(session, request, now=now)
        text = request_sms(request, Links.from_config(current_app.config).short_url(link.code),
                           kind)

        def send() -> str:
            assert sms is not None  # checked above
            return sms.send(customer.phone or "", text, sender=request.merchant.sms_sender_id)
    try:
        sent = hand_over(session, row, send, now=now)
    except Deferred as exc:
        delay = retry_delay(row.attempts)
        if delay is None:
            row.status = MessageStatus.FAILED
            session.commit()
            raise RetryLater(f"gave up: {exc}") from None
        raise RetryLater(str(exc), at=now + delay) from None
    details = {"kind": kind, "channel": channel, "step": step, "key": key,
               "message_id": row.message_id, "error": row.error}
    record_audit(session, action=f"payment_request.message_{'sent' if sent else 'failed'}",
                 subject=request.public_id, actor="system", merchant_id=request.merchant_id,
                 now=now, data=details)
    if sent and kind == "reminder":
        emit_event(session, merchant_id=request.merchant_id,
                   type="payment_request.reminder_sent", subject=request.public_id, now=now,
                   data={**event_data(request), "step": step, "channel": channel})
    session.commit()

