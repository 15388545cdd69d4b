"""Reminders for unpaid requests: a schedule per merchant in days around the due date (``-3``,
``0``, ``7``), by email and, where a phone number is known, by SMS. Each step is a job queued
with the request; it re-checks the request when it runs (so paying, withdrawing or expiry stop
it at once) and goes out once per step and channel, even with two workers. Queuing them is
:func:`portal.payments.service.schedule_reminders`."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.merchants.models import Merchant
from portal.payments.models import PaymentRequest

#: Reminders go out at this time of day (UTC) on their day.
SEND_AT = time(8, 0)
MAX_STEPS = 5
MAX_OFFSET = 90


class ReminderScheduleError(ValueError):
    """A schedule the portal will not keep."""


def validate_offsets(days: list[int]) -> list[int]:
    """Sorted distinct whole days from -30 to 90 around the due date, at most five."""
    if any(type(day) is not int or not -30 <= day <= MAX_OFFSET for day in days):
        raise ReminderScheduleError(f"reminder days must be whole days from -30 to {MAX_OFFSET}")
    clean = sorted(set(days))
    if len(clean) > MAX_STEPS:
        raise ReminderScheduleError(f"at most {MAX_STEPS} reminders")
    return clean


def reminder_offsets(merchant: Merchant, default: tuple[int, ...]) -> list[int]:
    """The merchant's schedule, or the portal's ``PAYMENT_REMINDER_DAYS``."""
    if merchant.payment_reminder_days is not None:
        return list(merchant.payment_reminder_days)
    return list(default)


def reminder_channels(request: PaymentRequest, sms_enabled: bool) -> list[str]:
    customer = request.customer
    channels = ["email"] if customer.email else []
    if customer.phone and sms_enabled:
        channels.append("sms")
    return channels


def reminder_times(request: PaymentRequest, offsets: list[int]) -> list[tuple[int, datetime]]:
    """(step number, when) for each step of the schedule; none without a due date."""
    if request.due_date is None:
        return []
    return [(number, datetime.combine(request.due_date + timedelta(days=day), SEND_AT,
                                      tzinfo=UTC))
            for number, day in enumerate(offsets, start=1)]


def unsubscribe_reminders(session: Session, request: PaymentRequest, now: datetime) -> bool:
    """Stop the request's reminders (every channel); the request itself stays payable. True
    the first time."""
    if request.reminders_unsubscribed_at is not None:
        return False
    request.reminders_unsubscribed_at = now
    record_audit(session, action="payment_request.unsubscribe", subject=request.public_id,
                 actor="customer", merchant_id=request.merchant_id, now=now)
    return True
