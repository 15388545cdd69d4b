"""Messages to customers, in their language and the merchant's branding."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from typing import Any

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.documents.service import mandate_pdf, read_pdf
from portal.jobs.service import job_handler
from portal.mail.transport import mail_transport
from portal.mandates.models import Mandate

MANDATE_COPY_JOB = "mail.mandate_copy"


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
