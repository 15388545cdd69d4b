"""Mailing customers: the invitation, its reminders and the signed mandate's copy, handed to the
transport and recorded. A server that is down or answers 4xx means a retry on the delivery
schedule; a 5xx refusal (unknown mailbox) is recorded on the invitation at once."""

from __future__ import annotations

from datetime import datetime, timedelta
from email.message import EmailMessage

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.documents.service import mandate_pdf, pdf_given_up, read_pdf
from portal.jobs.service import NewJob, RetryLater, enqueue, enqueue_jobs
from portal.mail.messages import MailSettings, invitation_message, mandate_copy_message
from portal.mail.transport import MailRejected, MailTransport
from portal.mandates.delivery import (
    DeliverySettings,
    awaits_signature,
    deliver_invitation,
    hand_over,
    mark_queued,
)
from portal.mandates.links import Links
from portal.mandates.models import Invitation, Mandate
from signing import PdfStore

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


def resend_invitation_email(session: Session, invitation: Invitation, *, now: datetime,
                            actor: str) -> bool:
    """Mail the invitation again (the customer lost it), if it still awaits a signature and the
    customer has an address; False otherwise. Repeats within a minute are one resend."""
    if not awaits_signature(invitation, now) or not invitation.mandate.customer.email:
        return False
    mark_queued(invitation)
    enqueue(session, INVITATION_JOB, {"invitation": invitation.public_id},
            dedupe_key=f"{INVITATION_JOB}:{invitation.public_id}:resend:{int(now.timestamp()) // 60}")
    record_audit(session, action="invitation.resend", subject=invitation.public_id, actor=actor,
                 merchant_id=invitation.merchant_id, now=now, data={"channel": CHANNEL})
    return True


def mandate_copy_job(mandate: Mandate) -> NewJob | None:
    """The job that mails the customer their copy once the sealed PDF exists (queued at
    activation, beside the PDF job; the job waits for the PDF); None without an address."""
    if not mandate.customer.email:
        return None
    return NewJob(MANDATE_COPY_JOB, {"mandate": mandate.public_id},
                  dedupe_key=f"{MANDATE_COPY_JOB}:{mandate.public_id}")


def queue_mandate_copy(session: Session, mandate: Mandate) -> None:
    """Queue :func:`mandate_copy_job` in the caller's transaction."""
    if (job := mandate_copy_job(mandate)) is not None:
        enqueue_jobs(session, [job])


def hand_over_email(session: Session, invitation: Invitation, message: EmailMessage, *,
                    transport: MailTransport, job_key: str, now: datetime,
                    settings: DeliverySettings, reminder: int | None = None) -> bool:
    """Send one message about the invitation and record what happened; True if handed over."""
    def send() -> str:
        transport.send(message)
        return str(message["Message-ID"])

    return hand_over(session, invitation, CHANNEL, send, job_key=job_key, now=now,
                     settings=settings, reminder=reminder)


def send_invitation_email(session: Session, public_id: str, *, transport: MailTransport,
                          links: Links, mail: MailSettings, settings: DeliverySettings,
                          now: datetime) -> None:
    """Mail the signing link; the first hand-over tells the merchant (``invitation.sent``)."""
    def send(invitation: Invitation) -> bool:
        message = invitation_message(
            invitation, links.invitation_url(invitation.public_id, invitation.expires_at),
            settings=mail, now=now)
        return hand_over_email(session, invitation, message, transport=transport, now=now,
                               settings=settings,
                               job_key=f"{INVITATION_JOB}:{invitation.public_id}")

    deliver_invitation(session, public_id, CHANNEL,
                       lambda invitation: invitation.mandate.customer.email, send, now=now,
                       settings=settings)


def send_mandate_copy(session: Session, public_id: str, *, transport: MailTransport,
                      store: PdfStore, mail: MailSettings, now: datetime) -> None:
    """Mail the sealed PDF to the customer; waits (RetryLater) until the PDF exists, and gives up
    if its job did. A refusal is noted, not retried; a deferral is the job queue's to retry."""
    mandate = session.scalar(select(Mandate).where(Mandate.public_id == public_id))
    if mandate is None or not mandate.customer.email:
        return
    record = mandate_pdf(session, mandate)
    if record is None:
        if pdf_given_up(session, mandate):
            record_audit(session, action="mail.mandate_copy_failed", subject=mandate.public_id,
                         actor="system", merchant_id=mandate.merchant_id, now=now,
                         data={"error": "the sealed PDF could not be produced"})
            return
        raise RetryLater("waiting for the sealed PDF", at=now + PDF_WAIT)
    message = mandate_copy_message(mandate, read_pdf(store, record), settings=mail, now=now)
    try:
        transport.send(message)
    except MailRejected as exc:
        record_audit(session, action="mail.mandate_copy_failed", subject=mandate.public_id,
                     actor="system", merchant_id=mandate.merchant_id, now=now,
                     data={"error": str(exc)})
        return
    record_audit(session, action="mail.mandate_copy", subject=mandate.public_id, actor="system",
                 merchant_id=mandate.merchant_id, now=now,
                 data={"message_id": message["Message-ID"]})
