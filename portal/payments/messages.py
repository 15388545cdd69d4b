"""Messages about a payment request, in the customer's language and the merchant's branding:
the request itself, reminders, the pay link after a refused card charge (email or SMS), and the
receipt (email). Each goes out at most once per key (``payment_message``), even with two
workers: the row is claimed before the message is handed over."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, format_currency, format_date, gettext
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.mail.messages import MailSettings, _language, _logo_url, _message
from portal.payments.models import MessageStatus, Payment, PaymentMessage, PaymentRequest
from portal.sms.segments import GSM_SINGLE, is_gsm, septets, to_gsm
from portal.transports import Deferred, Rejected

ERROR_LENGTH = 300


def money(cents: int, locale: str) -> str:
    """``€12.50`` in the customer's locale (``€ 12,50`` in Dutch)."""
    with force_locale(locale):
        return format_currency(cents / 100, "EUR")


def request_email(request: PaymentRequest, link: str, kind: str, *, settings: MailSettings,
                  now: datetime, step: int | None = None, payment: Payment | None = None,
                  unsubscribe_url: str | None = None) -> EmailMessage:
    """The request (``request``), a reminder of it (``reminder``), or the link after a card
    charge was refused (``fallback``); a reminder with ``unsubscribe_url`` carries RFC 8058
    one-click ``List-Unsubscribe`` headers and the link in its text."""
    merchant, customer = request.merchant, request.customer
    locale = customer.locale
    with force_locale(locale):
        amount = money(request.open_cents, locale)
        if kind == "reminder":
            subject = gettext("Reminder: %(amount)s for %(merchant)s is still open",
                              amount=amount, merchant=merchant.display_name)
        elif kind == "fallback":
            subject = gettext("Your payment to %(merchant)s did not go through",
                              merchant=merchant.display_name)
        else:
            subject = gettext("%(merchant)s asks you to pay %(amount)s",
                              merchant=merchant.display_name, amount=amount)
        context = {"request": request, "merchant": merchant, "customer": customer, "link": link,
                   "kind": kind, "step": step, "amount": amount, "subject": subject,
                   "logo_url": _logo_url(merchant, settings.base_url),
                   "unsubscribe_url": unsubscribe_url,
                   "due_date": format_date(request.due_date, "long") if request.due_date else None,
                   "valid_until": format_date(request.expires_at, "long")}
        text = render_template("mail/payment_request.txt", **context)
        html = render_template("mail/payment_request.html", **context)
    message = _message(merchant, settings=settings, now=now,
                       to=(customer.name, customer.email or ""), subject=subject, text=text,
                       html=html, about=request.public_id)
    if kind == "reminder" and unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return _language(message, locale)


def receipt_email(request: PaymentRequest, payment: Payment, *, settings: MailSettings,
                  now: datetime) -> EmailMessage:
    """The customer's receipt for a payment, with what is still open if anything is."""
    merchant, customer = request.merchant, request.customer
    locale = customer.locale
    with force_locale(locale):
        subject = gettext("Receipt: you paid %(amount)s to %(merchant)s",
                          amount=money(payment.amount_cents, locale),
                          merchant=merchant.display_name)
        context = {"request": request, "payment": payment, "merchant": merchant,
                   "customer": customer, "subject": subject,
                   "logo_url": _logo_url(merchant, settings.base_url),
                   "paid": money(payment.amount_cents, locale),
                   "open": money(request.open_cents, locale) if request.open_cents else None,
                   "paid_on": format_date(payment.paid_at or payment.created_at, "long")}
        text = render_template("mail/payment_receipt.txt", **context)
        html = render_template("mail/payment_receipt.html", **context)
    message = _message(merchant, settings=settings, now=now,
                       to=(customer.name, customer.email or ""), subject=subject, text=text,
                       html=html, about=payment.public_id)
    return _language(message, locale)


def _sms(kind: str, name: str, amount: str, link: str) -> str:
    if kind == "reminder":
        return gettext("Reminder: %(amount)s for %(name)s is still open. Pay here: %(link)s",
                       amount=amount, name=name, link=link)
    if kind == "fallback":
        return gettext("%(name)s could not charge your card. Pay %(amount)s here: %(link)s",
                       amount=amount, name=name, link=link)
    return gettext("%(name)s asks you to pay %(amount)s: %(link)s", amount=amount, name=name,
                   link=link)


def request_sms(request: PaymentRequest, short_link: str, kind: str) -> str:
    """One GSM-7 segment when it fits: the merchant's name spelled in the GSM alphabet, the
    amount as digits (``EUR 12.50``: ``€`` costs two septets)."""
    locale = request.customer.locale
    cents = request.open_cents
    amount = f"EUR {cents // 100}.{cents % 100:02d}"
    with force_locale(locale):
        text = _sms(kind, request.merchant.display_name, amount, short_link)
        if is_gsm(text) and septets(text) <= GSM_SINGLE:
            return text
        name = to_gsm(request.merchant.display_name)
        budget = GSM_SINGLE - septets(_sms(kind, "", amount, short_link))
        return _sms(kind, name[:max(budget, 8)].rstrip(" -,.&"), amount, short_link)


# -- Claiming and logging -----------------------------------------------------------------------

def claim_message(session: Session, request: PaymentRequest, key: str, *, kind: str,
                  channel: str, step: int | None, now: datetime,
                  lease: timedelta = timedelta(minutes=10)) -> PaymentMessage | None:
    """The log row for this message, claimed for sending now and committed; None when it went
    out already, failed for good, or another worker is sending it."""
    row = PaymentMessage(merchant_id=request.merchant_id, request_id=request.id, key=key,
                         kind=kind, step=step, channel=channel, status=MessageStatus.SENDING,
                         attempts=1, created_at=now, updated_at=now)
    try:
        with session.begin_nested():  # a savepoint: losing the race undoes only this insert
            session.add(row)
        session.commit()
        return row
    except IntegrityError:
        pass
    existing = session.scalar(select(PaymentMessage).where(
        PaymentMessage.request_id == request.id, PaymentMessage.key == key))
    if existing is None:
        return None
    # A deferred one may go again; so may one whose sender died (its claim went stale).
    taken = session.execute(
        update(PaymentMessage).where(
            PaymentMessage.id == existing.id,
            (PaymentMessage.status == MessageStatus.DEFERRED)
            | ((PaymentMessage.status == MessageStatus.SENDING)
               & (PaymentMessage.updated_at < now - lease)))
        .values(status=MessageStatus.SENDING, attempts=PaymentMessage.attempts + 1,
                updated_at=now).execution_options(synchronize_session=False))
    session.commit()
    if taken.rowcount != 1:
        return None
    session.refresh(existing)
    return existing


def hand_over(session: Session, row: PaymentMessage, send: object, *, now: datetime) -> bool:
    """Send through ``send()`` (returns the transport's message id) and log the outcome: True
    if handed over; a deferral raises :class:`portal.transports.Deferred` after logging it."""
    try:
        message_id = send()  # type: ignore[operator]
    except Rejected as exc:
        row.status, row.error, row.updated_at = MessageStatus.FAILED, str(exc)[:ERROR_LENGTH], now
        session.commit()
        return False
    except Deferred as exc:
        row.status, row.error, row.updated_at = MessageStatus.DEFERRED, str(exc)[:ERROR_LENGTH], now
        session.commit()
        raise
    row.status, row.message_id, row.error, row.updated_at = (
        MessageStatus.SENT, str(message_id)[:200], None, now)
    return True


def retry_delay(attempt: int) -> timedelta | None:
    """When to try a deferred message again (``DELIVERY_RETRY_SCHEDULE``), None to give up."""
    schedule: list[float] = current_app.config["DELIVERY_RETRY_SCHEDULE"]
    if attempt > len(schedule):
        return None
    return timedelta(seconds=float(schedule[attempt - 1]))
