"""Mail jobs: the invitation and the signed mandate's copy, handed to the transport by a worker.

A server that is down or answers 4xx means a retry on ``DELIVERY_RETRY_SCHEDULE``; a 5xx
refusal (unknown mailbox) is recorded on the invitation at once and not retried."""

from __future__ import annotations

from datetime import timedelta
from email.message import EmailMessage
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.documents.service import mandate_pdf, pdf_given_up, read_pdf
from portal.jobs.service import RetryLater, enqueue, job_handler
from portal.mail.messages import invitation_message, mandate_copy_message
from portal.mail.transport import MailRejected, mail_transport
from portal.mandates.delivery import deliver_invitation, hand_over, mark_queued
from portal.mandates.links import invitation_url
from portal.mandates.models import Invitation, Mandate

INVITATION_JOB = "mail.invitation"
MANDATE_COPY_JOB = "mail.mandate_copy"
CHANNEL = "email"
#: How long the copy waits before looking for the sealed PDF again.
PDF_WAIT = timedelta(seconds=20)


def queue_invitation_email(session: Session, invitation: Invitation) -> None:
    """Send the invitation by email in the background, once, after the caller commits."""
    mark_queued(invitation)
    enqueue(session, INVITATION_JOB, {"invitation": invitation.public_id},
            dedupe_key=f"{INVITATION_JOB}:{invitation.public_id}")


def queue_mandate_copy(session: Session, mandate: Mandate) -> None:
    """Mail the customer their copy once the sealed PDF exists (queued at activation, beside the
    PDF job; the job waits for the PDF)."""
    if mandate.customer.email:
        enqueue(session, MANDATE_COPY_JOB, {"mandate": mandate.public_id},
                dedupe_key=f"{MANDATE_COPY_JOB}:{mandate.public_id}")


def hand_over_email(session: Session, invitation: Invitation, message: EmailMessage, *,
                    job_key: str, reminder: int | None = None) -> bool:
    """Send one message about the invitation and record what happened; True if handed over."""
    def send() -> str:
        mail_transport().send(message)
        return message["Message-ID"]

    return hand_over(session, invitation, CHANNEL, send, job_key=job_key, reminder=reminder)


@job_handler(INVITATION_JOB)
def send_invitation_email(session: Session, payload: dict[str, Any]) -> None:
    """Mail the signing link; the first hand-over tells the merchant (``invitation.sent``)."""
    def send(invitation: Invitation) -> bool:
        message = invitation_message(invitation, invitation_url(invitation.public_id,
                                                                invitation.expires_at))
        return hand_over_email(session, invitation, message,
                               job_key=f"{INVITATION_JOB}:{invitation.public_id}")

    deliver_invitation(session, payload["invitation"],
                       lambda invitation: invitation.mandate.customer.email, send)


@job_handler(MANDATE_COPY_JOB)
def send_mandate_copy(session: Session, payload: dict[str, Any]) -> None:
    mandate = session.scalar(select(Mandate).where(Mandate.public_id == payload["mandate"]))
    if mandate is None or not mandate.customer.email:
        return
    record = mandate_pdf(session, mandate)
    if record is None:
        if pdf_given_up(session, mandate):
            record_audit(session, action="mail.mandate_copy_failed", subject=mandate.public_id,
                         actor="system", merchant_id=mandate.merchant_id,
                         data={"error": "the sealed PDF could not be produced"})
            return
        raise RetryLater("waiting for the sealed PDF", at=clock_now() + PDF_WAIT)
    message = mandate_copy_message(mandate, read_pdf(record))
    try:
        mail_transport().send(message)  # MailDeferred: the job queue's own retries
    except MailRejected as exc:  # refused for good: note it, do not retry
        record_audit(session, action="mail.mandate_copy_failed", subject=mandate.public_id,
                     actor="system", merchant_id=mandate.merchant_id, data={"error": str(exc)})
        return
    record_audit(session, action="mail.mandate_copy", subject=mandate.public_id, actor="system",
                 merchant_id=mandate.merchant_id, data={"message_id": message["Message-ID"]})
