"""The TARGET2 calendar and the dates collections get: closing days, D-1, lead time,
pre-notification, and the day a retry aims at."""

from __future__ import annotations

from datetime import date

import pytest

from portal.collections.calendar import (
    add_business_days,
    earliest_collection_date,
    is_business_day,
    latest_submission_day,
    next_business_day,
    retry_date,
)


@pytest.mark.parametrize("day", [
    date(2026, 1, 1), date(2026, 4, 3), date(2026, 4, 6), date(2026, 5, 1),
    date(2026, 12, 25), date(2026, 12, 26), date(2027, 3, 26), date(2027, 3, 29),
    date(2026, 3, 21), date(2026, 3, 22)])
def test_target2_closing_days_and_weekends_are_not_business_days(day: date) -> None:
    assert not is_business_day(day)


def test_ordinary_weekdays_are_business_days_even_on_national_holidays() -> None:
    # King's Day (NL), Ascension Day and Whit Monday: banks in TARGET2 settle on them.
    assert all(is_business_day(d) for d in (date(2026, 4, 27), date(2026, 5, 14),
                                            date(2026, 5, 25), date(2026, 12, 24)))


def test_easter_moves_a_collection_to_the_tuesday_after() -> None:
    # Scheduled on Friday 20 March with 14 days' notice: 3 April is Good Friday, then the
    # weekend, then Easter Monday: the first possible date is Tuesday 7 April.
    assert earliest_collection_date(date(2026, 3, 20)) == date(2026, 4, 7)


def test_the_labour_day_weekend_and_christmas_are_skipped() -> None:
    assert earliest_collection_date(date(2026, 4, 17)) == date(2026, 5, 4)  # Fri 1 May + weekend
    assert earliest_collection_date(date(2026, 12, 11)) == date(2026, 12, 28)  # 25, 26, Sunday


def test_without_pre_notification_the_file_still_needs_d_minus_one() -> None:
    # Friday: the file reaches the bank on Friday, so Monday is the earliest collection date.
    assert earliest_collection_date(date(2026, 3, 20), prenotification_days=0) == date(2026, 3, 23)
    # Saturday: submitted Monday, collected Tuesday.
    assert earliest_collection_date(date(2026, 3, 21), prenotification_days=0) == date(2026, 3, 24)
    # Thursday before Easter: submitted Thursday, then Good Friday and Easter Monday are closed.
    assert earliest_collection_date(date(2026, 4, 2), prenotification_days=0) == date(2026, 4, 7)


def test_the_merchants_lead_time_counts_in_business_days() -> None:
    assert earliest_collection_date(date(2026, 3, 20), lead_days=2,
                                    prenotification_days=0) == date(2026, 3, 25)


def test_a_requested_date_later_than_allowed_is_kept_or_moved_to_a_business_day() -> None:
    assert earliest_collection_date(date(2026, 3, 2), requested=date(2026, 3, 31)) == \
        date(2026, 3, 31)
    assert earliest_collection_date(date(2026, 3, 2), requested=date(2026, 4, 4)) == \
        date(2026, 4, 7)
    # Earlier than allowed: the rules win.
    assert earliest_collection_date(date(2026, 3, 2), requested=date(2026, 3, 3)) == \
        date(2026, 3, 16)


def test_submission_and_business_day_arithmetic() -> None:
    assert latest_submission_day(date(2026, 4, 7)) == date(2026, 4, 2)
    assert next_business_day(date(2026, 12, 24)) == date(2026, 12, 28)
    assert add_business_days(date(2026, 4, 2), 1) == date(2026, 4, 7)
    assert add_business_days(date(2026, 4, 2), 0) == date(2026, 4, 2)


def test_a_retry_without_history_lands_the_day_after_a_common_payday() -> None:
    # Failed on 7 April, 5 days' delay: the next payday is the 25th (a Saturday); the day after
    # is Sunday, so Monday 27 April.
    assert retry_date(date(2026, 4, 7), 5, usual_day=None) == date(2026, 4, 27)
    # Failed on 21 May, 10 days: 31 May onwards; payday 1 June, so Tuesday 2 June.
    assert retry_date(date(2026, 5, 21), 10, usual_day=None) == date(2026, 6, 2)


def test_a_retry_with_history_lands_on_the_debtors_usual_successful_day() -> None:
    assert retry_date(date(2026, 4, 7), 5, usual_day=15) == date(2026, 4, 15)
    assert retry_date(date(2026, 4, 14), 5, usual_day=15) == date(2026, 5, 15)
    # The 31st in a 30-day month is its last day (30 June 2026 is a Tuesday).
    assert retry_date(date(2026, 6, 10), 5, usual_day=31) == date(2026, 6, 30)
