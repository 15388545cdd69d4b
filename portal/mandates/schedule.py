"""When the portal acts on an invitation later: its reminders (per channel, on the merchant's
schedule) and its expiry. Queued as jobs; the channels and ``portal.reminders`` run them."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from portal.jobs.service import enqueue
from portal.mandates.models import Invitation, InvitationChannel
from portal.merchants.models import Merchant

EMAIL_REMINDER_JOB = "mail.reminder"
SMS_REMINDER_JOB = "sms.reminder"
EXPIRY_JOB = "invitation.expire"
#: At most this many reminders, each at most this many days after sending.
MAX_REMINDERS = 5
MAX_DAY = 90


class ScheduleError(ValueError):
    """A reminder schedule the portal will not keep."""


def validate_schedule(days: list[int]) -> list[int]:
    """Sorted distinct whole days, 1 to 90, at most five of them."""
    if any(type(day) is not int or not 1 <= day <= MAX_DAY for day in days):
        raise ScheduleError(f"reminder days must be whole days from 1 to {MAX_DAY}")
    clean = sorted(set(days))
    if len(clean) > MAX_REMINDERS:
        raise ScheduleError(f"at most {MAX_REMINDERS} reminders")
    return clean


def reminder_days(merchant: Merchant, portal_days: Sequence[int]) -> list[int]:
    """The merchant's schedule, or the portal's (``REMINDER_DAYS``)."""
    if merchant.reminder_days is not None:
        return list(merchant.reminder_days)
    return list(portal_days)


def reminder_channels(invitation: Invitation) -> list[str]:
    """Email whenever the customer has an address; SMS too when the invitation went by SMS."""
    customer = invitation.mandate.customer
    channels = [InvitationChannel.EMAIL.value] if customer.email else []
    if invitation.channel == InvitationChannel.SMS and customer.phone:
        channels.append(InvitationChannel.SMS.value)
    return channels


def reminder_job_key(kind: str, invitation_id: str, number: int) -> str:
    return f"{kind}:{invitation_id}:{number}"


def schedule_reminders(session: Session, invitation: Invitation, sent_at: datetime,
                       portal_days: Sequence[int]) -> None:
    """Queue one job per reminder and channel, on the schedule counted from ``sent_at``; days
    falling after the invitation's expiry are skipped. Idempotent (dedupe keys)."""
    kinds = {InvitationChannel.EMAIL.value: EMAIL_REMINDER_JOB,
             InvitationChannel.SMS.value: SMS_REMINDER_JOB}
    for number, day in enumerate(reminder_days(invitation.merchant, portal_days), start=1):
        run_at = sent_at + timedelta(days=day)
        if run_at >= invitation.expires_at:
            break
        for channel in reminder_channels(invitation):
            kind = kinds[channel]
            enqueue(session, kind, {"invitation": invitation.public_id, "reminder": number},
                    dedupe_key=reminder_job_key(kind, invitation.public_id, number),
                    run_at=run_at)


def schedule_expiry(session: Session, invitation: Invitation) -> None:
    """Queue the expiry with the invitation (run by the worker or the in-process runner)."""
    enqueue(session, EXPIRY_JOB, {"invitation": invitation.public_id},
            dedupe_key=f"{EXPIRY_JOB}:{invitation.public_id}", run_at=invitation.expires_at)
