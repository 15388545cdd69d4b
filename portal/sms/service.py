"""Texting customers: the invitation's short link and reminders of it, handed to the gateway and
recorded on the invitation (a refusal, such as a bad number, is not retried)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from portal.jobs.service import enqueue
from portal.mandates.delivery import (
    DeliverySettings,
    deliver_invitation,
    hand_over,
    mark_queued,
    record_failure,
)
from portal.mandates.links import Links
from portal.mandates.models import Invitation
from portal.shortlinks.service import create_short_link
from portal.sms import SmsGateway
from portal.sms.messages import invitation_sms

INVITATION_JOB = "sms.invitation"
CHANNEL = "sms"


def queue_invitation_sms(session: Session, invitation: Invitation) -> None:
    """Text the invitation's short link in the background, once, after the caller commits."""
    mark_queued(invitation)
    enqueue(session, INVITATION_JOB, {"invitation": invitation.public_id},
            dedupe_key=f"{INVITATION_JOB}:{invitation.public_id}")


def invitation_text(session: Session, invitation: Invitation, *, links: Links, now: datetime,
                    reminder: bool = False) -> str:
    link = create_short_link(session, invitation, now=now)
    return invitation_sms(invitation.merchant.display_name, links.short_url(link.code),
                          invitation.mandate.customer.locale, reminder=reminder)


def hand_over_sms(session: Session, invitation: Invitation, text: str, *,
                  gateway: SmsGateway | None, job_key: str, now: datetime,
                  settings: DeliverySettings, reminder: int | None = None) -> bool:
    """Send one text about the invitation and record what happened; True if handed over."""
    if gateway is None:  # turned off since the message was queued
        record_failure(session, invitation, CHANNEL, "SMS is turned off (SMS_TRANSPORT=none)",
                       now=now, reminder=reminder)
        return False
    phone = invitation.mandate.customer.phone or ""
    return hand_over(session, invitation, CHANNEL, lambda: gateway.send(
        phone, text, sender=invitation.merchant.sms_sender_id),
                     job_key=job_key, now=now, settings=settings, reminder=reminder)


def send_invitation_sms(session: Session, public_id: str, *, gateway: SmsGateway | None,
                        links: Links, settings: DeliverySettings, now: datetime) -> None:
    """Text the short link; the first hand-over tells the merchant (``invitation.sent``)."""
    def send(invitation: Invitation) -> bool:
        text = invitation_text(session, invitation, links=links, now=now)
        return hand_over_sms(session, invitation, text, gateway=gateway, now=now,
                             settings=settings,
                             job_key=f"{INVITATION_JOB}:{invitation.public_id}")

    deliver_invitation(session, public_id, CHANNEL,
                       lambda invitation: invitation.mandate.customer.phone, send, now=now,
                       settings=settings)
