"""Messages to customers, in their language and the merchant's branding: sent from the portal's
address under the merchant's name, replies going to the merchant."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from typing import Any

from flask import render_template
from flask_babel import force_locale, format_date, gettext

from portal.mandates.models import Invitation, Mandate
from portal.merchants.models import Merchant
from portal.names import displayable_name


@dataclass(frozen=True)
class MailSettings:
    """The portal's sending address (``MAIL_FROM``) and public address (for the logo)."""

    sender: str
    base_url: str

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        return cls(parseaddr(config["MAIL_FROM"])[1], str(config["PUBLIC_BASE_URL"]).rstrip("/"))


def _message(merchant: Merchant, *, settings: MailSettings, now: datetime, to: tuple[str, str],
             subject: str, text: str, html: str, about: str) -> EmailMessage:
    """The headers every customer mail carries; ``about`` (a public id) goes into the
    Message-ID so a bounce can be traced back to it. Display names are encoded as RFC 5322
    and 2047 say (``Address``), after :func:`displayable_name` made stored names safe."""
    sender = settings.sender
    merchant_name = displayable_name(merchant.display_name)
    message = EmailMessage()
    message["Subject"] = displayable_name(subject)
    message["From"] = Address(displayable_name(merchant.mail_from_name) or merchant_name,
                              addr_spec=sender)
    message["To"] = Address(displayable_name(to[0]), addr_spec=to[1])
    reply_to = merchant.reply_to_email or merchant.contact_email
    if reply_to:
        message["Reply-To"] = Address(merchant_name, addr_spec=reply_to)
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(idstring=about,
                                       domain=sender.rpartition("@")[2] or "mandate-portal")
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _language(message: EmailMessage, locale: str) -> EmailMessage:
    """Set last: making a message multipart moves its Content-* headers into the first part."""
    del message["Content-Language"]
    message["Content-Language"] = locale
    return message


def _logo_url(merchant: Merchant, base_url: str) -> str | None:
    """The merchant's logo as the portal serves it (mail clients fetch it, or not)."""
    if not merchant.logo:
        return None
    return f"{base_url}/brand/{merchant.public_id}/logo"


def mandate_copy_message(mandate: Mandate, pdf: bytes, *, settings: MailSettings,
                         now: datetime) -> EmailMessage:
    """The customer's copy of their signed mandate, PDF attached."""
    merchant = mandate.merchant
    with force_locale(mandate.locale):
        subject = gettext("Your direct debit mandate for %(name)s", name=merchant.display_name)
        context = {"mandate": mandate, "merchant": merchant}
        text = render_template("mail/mandate_copy.txt", **context)
        html = render_template("mail/mandate_copy.html", **context)
    message = _message(merchant, settings=settings, now=now,
                       to=(mandate.debtor_name or "", mandate.customer.email or ""),
                       subject=subject, text=text, html=html, about=mandate.public_id)
    message.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename=f"mandate-{mandate.reference}.pdf")
    return _language(message, mandate.locale)


def invitation_message(invitation: Invitation, signing_url: str, *, settings: MailSettings,
                       now: datetime, unsubscribe_url: str | None = None,
                       reminder: int | None = None) -> EmailMessage:
    """The invitation to sign, or with ``reminder`` (1, 2, …) a reminder of it; reminders carry
    RFC 8058 one-click ``List-Unsubscribe`` headers pointing at ``unsubscribe_url``."""
    merchant, customer = invitation.merchant, invitation.mandate.customer
    with force_locale(customer.locale):
        if reminder is None:
            subject = gettext("%(name)s asks you to sign a direct debit mandate",
                              name=merchant.display_name)
        else:
            subject = gettext("Reminder: %(name)s asks you to sign a direct debit mandate",
                              name=merchant.display_name)
        context = {"invitation": invitation, "merchant": merchant, "customer": customer,
                   "signing_url": signing_url, "subject": subject, "reminder": reminder,
                   "unsubscribe_url": unsubscribe_url, "logo_url": _logo_url(merchant, settings.base_url),
                   "valid_until": format_date(invitation.expires_at, "long")}
        text = render_template("mail/invitation.txt", **context)
        html = render_template("mail/invitation.html", **context)
    message = _message(merchant, settings=settings, now=now,
                       to=(customer.name, customer.email or ""), subject=subject, text=text,
                       html=html, about=invitation.public_id)
    if reminder is not None and unsubscribe_url:
        message["List-Unsubscribe"] = f"<{unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    return _language(message, customer.locale)
