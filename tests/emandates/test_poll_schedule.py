"""When the background poll asks the bank again: along the schedule, just after the expiry,
and no more once the expiry is long past."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import portal.models  # noqa: F401  (every mapper, so a transaction can be built without an app)
from portal.emandates.models import BankOutcome, BankTransaction
from portal.emandates.service import EXPIRY_GRACE, next_poll

START = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def transaction(expires_in: timedelta, outcome: BankOutcome = BankOutcome.OPEN
                ) -> BankTransaction:
    return BankTransaction(created_at=START, expires_at=START + expires_in, outcome=outcome.value)


def test_polls_follow_the_schedule_then_repeat_its_last_step() -> None:
    week = transaction(timedelta(days=7))
    schedule = (60, 120, 300)
    assert next_poll(week, START + timedelta(seconds=30), schedule) == START + timedelta(seconds=60)
    assert next_poll(week, START + timedelta(seconds=61), schedule) == START + timedelta(seconds=180)
    assert next_poll(week, START + timedelta(seconds=200), schedule) == START + timedelta(
        seconds=480)
    assert next_poll(week, START + timedelta(seconds=500), schedule) == START + timedelta(
        seconds=780)


def test_the_last_poll_comes_just_after_the_expiry_and_then_none() -> None:
    hour = transaction(timedelta(hours=1))
    assert next_poll(hour, START + timedelta(minutes=59), (7200,)) == (
        START + timedelta(hours=1, seconds=1))
    after = next_poll(hour, START + timedelta(hours=1, minutes=5), (3600,))
    assert after is not None and after <= START + timedelta(hours=1) + EXPIRY_GRACE
    assert next_poll(hour, START + timedelta(hours=1) + EXPIRY_GRACE, (3600,)) is None


def test_a_final_transaction_is_not_polled() -> None:
    assert next_poll(transaction(timedelta(hours=1), BankOutcome.ACCEPTED), START, (60,)) is None
