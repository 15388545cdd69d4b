"""Messages to customers, in their language and the merchant's branding."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, format_date, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.documents.service import mandate_pdf, read_pdf
from portal.events.service import emit_event
from portal.jobs.service import enqueue, job_handler
from portal.mail.transport import mail_transport
from portal.mandates.links import invitation_url
from portal.mandates.models import Invitation, Mandate, MandateStatus

MANDATE_COPY_JOB = "mail.mandate_copy"
INVITATION_JOB = "mail.invitation"


def mandate_copy_message(mandate: Mandate, pdf: bytes) -> EmailMessage:
    """The customer's copy of their signed mandate, PDF attached."""
    merchant = mandate.merchant
    with force_locale(mandate.locale):
        subject = gettext("Your direct debit mandate for %(name)s", name=merchant.display_name)
        context = {"mandate": mandate, "merchant": merchant}
        text = render_template("mail/mandate_copy.txt", **context)
        html = render_template("mail/mandate_copy.html", **context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = formataddr((mandate.debtor_name or "", mandate.customer.email or ""))
    message["Message-ID"] = make_msgid(domain="mandate-portal")
    message["Content-Language"] = mandate.locale
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    message.add_attachment(pdf, maintype="application", subtype="pdf",
                           filename=f"mandate-{mandate.reference}.pdf")
    return message


def invitation_message(invitation: Invitation, signing_url: str) -> EmailMessage:
    """The customer's invitation to sign, with the signing link, in the customer's language."""
    merchant, customer = invitation.merchant, invitation.mandate.customer
    with force_locale(customer.locale):
        subject = gettext("%(name)s asks you to sign a direct debit mandate",
                          name=merchant.display_name)
        context = {"invitation": invitation, "merchant": merchant, "customer": customer,
                   "signing_url": signing_url, "subject": subject,
                   "valid_until": format_date(invitation.expires_at, "long")}
        text = render_template("mail/invitation.txt", **context)
        html = render_template("mail/invitation.html", **context)
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = current_app.config["MAIL_FROM"]
    message["To"] = formataddr((customer.name, customer.email or ""))
    message["Message-ID"] = make_msgid(domain="mandate-portal")
    message["Content-Language"] = customer.locale
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def queue_invitation_email(session: Session, invitation: Invitation) -> None:
    """Send the invitation by email in the background, once, after the caller commits."""
    enqueue(session, INVITATION_JOB, {"invitation": invitation.public_id},
            dedupe_key=f"{INVITATION_JOB}:{invitation.public_id}")


@job_handler(INVITATION_JOB)
def send_invitation_email(session: Session, payload: dict[str, Any]) -> None:
    """Mail the signing link unless the invitation can no longer be used; then tell the
    merchant (``invitation.sent``)."""
    invitation = session.scalar(select(Invitation).where(
        Invitation.public_id == payload["invitation"]))
    if invitation is None or not invitation.mandate.customer.email:
        return
    if (invitation.withdrawn_at is not None or invitation.used_at is not None
            or invitation.expires_at <= clock_now()
            or invitation.mandate.status != MandateStatus.INVITED):
        return
    message = invitation_message(invitation, invitation_url(invitation.public_id,
                                                            invitation.expires_at))
    mail_transport().send(message)
    record_audit(session, action="mail.invitation", subject=invitation.public_id, actor="system",
                 merchant_id=invitation.merchant_id, data={"message_id": message["Message-ID"]})
    emit_event(session, merchant_id=invitation.merchant_id, type="invitation.sent",
               subject=invitation.public_id,
               data={"invitation": invitation.public_id,
                     "mandate": invitation.mandate.public_id, "channel": "email"})


@job_handler(MANDATE_COPY_JOB)
def send_mandate_copy(session: Session, payload: dict[str, Any]) -> None:
    mandate = session.scalar(select(Mandate).where(Mandate.public_id == payload["mandate"]))
    record = mandate_pdf(session, mandate) if mandate else None
    if record is None or not mandate.customer.email:
        return
    message = mandate_copy_message(mandate, read_pdf(record))
    mail_transport().send(message)
    record_audit(session, action="mail.mandate_copy", subject=mandate.public_id, actor="system",
                 merchant_id=mandate.merchant_id, data={"message_id": message["Message-ID"]})
