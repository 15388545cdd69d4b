"""The debtor's pre-notification: amount, date and mandate reference before each collection
(and before a retry), in the customer's language and the merchant's branding."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from email.message import EmailMessage

from flask import render_template
from flask_babel import force_locale, format_currency, format_date, gettext

from portal.collections.models import Debit
from portal.mail.messages import MailSettings, _language, _message


def prenotification_message(debit: Debit, *, settings: MailSettings,
                            now: datetime) -> EmailMessage:
    mandate, merchant, customer = debit.mandate, debit.merchant, debit.customer
    locale = customer.locale
    retry = debit.attempt > 1
    with force_locale(locale):
        subject = (gettext("%(merchant)s will try the direct debit again on %(date)s",
                           merchant=merchant.display_name,
                           date=format_date(debit.collection_date, "long")) if retry else
                   gettext("%(merchant)s will collect %(amount)s on %(date)s",
                           merchant=merchant.display_name,
                           amount=format_currency(Decimal(debit.amount_cents) / 100, "EUR"),
                           date=format_date(debit.collection_date, "long")))
        context = {"debit": debit, "mandate": mandate, "merchant": merchant, "locale": locale,
                   "name": mandate.debtor_name or customer.name, "retry": retry,
                   "amount": format_currency(Decimal(debit.amount_cents) / 100, "EUR"),
                   "collection_date": format_date(debit.collection_date, "long")}
        text = render_template("collections/prenotification.txt", **context)
        html = render_template("collections/prenotification.html", **context)
    message = _message(merchant, settings=settings, now=now,
                       to=(customer.name, customer.email or ""), subject=subject, text=text,
                       html=html, about=debit.public_id)
    return _language(message, locale)
