"""Sending a queued reminder: re-check the invitation, then mail or text it like the invitation
itself (same retries, same failure recording)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portal.clock import now as clock_now
from portal.jobs.service import job_handler
from portal.mail.jobs import hand_over_email
from portal.mail.messages import invitation_message
from portal.mandates.delivery import invitation_by_id
from portal.mandates.links import invitation_url
from portal.mandates.schedule import EMAIL_REMINDER_JOB, SMS_REMINDER_JOB, reminder_job_key
from portal.reminders.service import reminder_due, unsubscribe_url
from portal.shortlinks.service import create_short_link
from portal.sms.jobs import hand_over_sms, invitation_text


@job_handler(EMAIL_REMINDER_JOB)
def send_reminder_email(session: Session, payload: dict[str, Any]) -> None:
    invitation = invitation_by_id(session, payload["invitation"])
    if invitation is None or not invitation.mandate.customer.email:
        return
    if not reminder_due(invitation, clock_now()):
        return
    number = int(payload["reminder"])
    link = create_short_link(session, invitation)
    message = invitation_message(
        invitation, invitation_url(invitation.public_id, invitation.expires_at),
        unsubscribe_url=unsubscribe_url(link.code), reminder=number)
    hand_over_email(session, invitation, message, reminder=number,
                    job_key=reminder_job_key(EMAIL_REMINDER_JOB, invitation.public_id, number))


@job_handler(SMS_REMINDER_JOB)
def send_reminder_sms(session: Session, payload: dict[str, Any]) -> None:
    invitation = invitation_by_id(session, payload["invitation"])
    if invitation is None or not invitation.mandate.customer.phone:
        return
    if not reminder_due(invitation, clock_now()):
        return
    number = int(payload["reminder"])
    hand_over_sms(session, invitation, invitation_text(session, invitation, reminder=True),
                  reminder=number,
                  job_key=reminder_job_key(SMS_REMINDER_JOB, invitation.public_id, number))
