"""SMS jobs: the invitation's short link sent by a worker, retried like mail while the gateway
is unavailable; a refusal (bad number) is recorded on the invitation and not retried."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from portal.jobs.service import enqueue, job_handler
from portal.mandates.delivery import deliver_invitation, hand_over, mark_queued
from portal.mandates.models import Invitation
from portal.shortlinks.service import create_short_link, short_url
from portal.sms.gateways import sms_gateway
from portal.sms.messages import invitation_sms

INVITATION_JOB = "sms.invitation"
CHANNEL = "sms"


def queue_invitation_sms(session: Session, invitation: Invitation) -> None:
    """Text the invitation's short link in the background, once, after the caller commits."""
    mark_queued(invitation)
    enqueue(session, INVITATION_JOB, {"invitation": invitation.public_id},
            dedupe_key=f"{INVITATION_JOB}:{invitation.public_id}")


def invitation_text(session: Session, invitation: Invitation, *, reminder: bool = False) -> str:
    link = create_short_link(session, invitation)
    return invitation_sms(invitation.merchant.display_name, short_url(link.code),
                          invitation.mandate.customer.locale, reminder=reminder)


def hand_over_sms(session: Session, invitation: Invitation, text: str, *, job_key: str,
                  reminder: int | None = None) -> bool:
    """Send one text about the invitation and record what happened; True if handed over."""
    return hand_over(session, invitation, CHANNEL,
                     lambda: sms_gateway().send(invitation.mandate.customer.phone or "", text),
                     job_key=job_key, reminder=reminder)


@job_handler(INVITATION_JOB)
def send_invitation_sms(session: Session, payload: dict[str, Any]) -> None:
    """Text the short link; the first hand-over tells the merchant (``invitation.sent``)."""
    deliver_invitation(
        session, payload["invitation"], lambda invitation: invitation.mandate.customer.phone,
        lambda invitation: hand_over_sms(session, invitation, invitation_text(session, invitation),
                                         job_key=f"{INVITATION_JOB}:{invitation.public_id}"))
