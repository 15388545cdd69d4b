"""Reminders: whether a queued one still goes out, sending it by mail or SMS, and unsubscribing.

Reminders are queued as jobs when the invitation is first handed over
(:mod:`portal.mandates.schedule`); each job re-checks the invitation when it runs, so stopping
needs no bookkeeping."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.mail.messages import MailSettings, invitation_message
from portal.mail.service import hand_over_email
from portal.mail.transport import MailTransport
from portal.mandates.delivery import DeliverySettings, awaits_signature, invitation_by_id
from portal.mandates.links import Links
from portal.mandates.models import DeliveryState, Invitation
from portal.mandates.schedule import EMAIL_REMINDER_JOB, SMS_REMINDER_JOB, reminder_job_key
from portal.shortlinks.service import create_short_link
from portal.sms import SmsGateway
from portal.sms.service import hand_over_sms, invitation_text


def reminder_due(invitation: Invitation, now: datetime) -> bool:
    """A queued reminder still goes out: unsigned, open, reachable and not unsubscribed."""
    return (awaits_signature(invitation, now) and invitation.unsubscribed_at is None
            and invitation.delivery_status != DeliveryState.FAILED)


def unsubscribe(session: Session, invitation: Invitation, now: datetime) -> bool:
    """Stop the invitation's reminders; True the first time."""
    if invitation.unsubscribed_at is not None:
        return False
    invitation.unsubscribed_at = now
    record_audit(session, action="invitation.unsubscribe", subject=invitation.public_id,
                 actor="customer", merchant_id=invitation.merchant_id, now=now)
    return True


def send_reminder_email(session: Session, public_id: str, number: int, *,
                        transport: MailTransport, links: Links, mail: MailSettings,
                        settings: DeliverySettings, now: datetime) -> None:
    """Mail reminder ``number`` if it is still due (with one-click unsubscribe)."""
    invitation = invitation_by_id(session, public_id)
    if invitation is None or not invitation.mandate.customer.email:
        return
    if not reminder_due(invitation, now):
        return
    link = create_short_link(session, invitation, now=now)
    message = invitation_message(
        invitation, links.invitation_url(invitation.public_id, invitation.expires_at),
        settings=mail, now=now, unsubscribe_url=links.unsubscribe_url(link.code),
        reminder=number)
    hand_over_email(session, invitation, message, transport=transport, now=now,
                    settings=settings, reminder=number,
                    job_key=reminder_job_key(EMAIL_REMINDER_JOB, invitation.public_id, number))


def send_reminder_sms(session: Session, public_id: str, number: int, *,
                      gateway: SmsGateway | None, links: Links, settings: DeliverySettings,
                      now: datetime) -> None:
    """Text reminder ``number`` if it is still due."""
    invitation = invitation_by_id(session, public_id)
    if invitation is None or not invitation.mandate.customer.phone:
        return
    if not reminder_due(invitation, now):
        return
    text = invitation_text(session, invitation, links=links, now=now, reminder=True)
    hand_over_sms(session, invitation, text, gateway=gateway, now=now, settings=settings,
                  reminder=number,
                  job_key=reminder_job_key(SMS_REMINDER_JOB, invitation.public_id, number))
