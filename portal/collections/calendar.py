"""The TARGET2 calendar and the dates a collection may have.

SEPA collections settle on TARGET2 business days: not on weekends, 1 January, Good Friday,
Easter Monday, 1 May, 25 and 26 December (``holidays.financial_holidays("XECB")``). Since the
2016 rulebook a CORE or B2B file must reach the bank one business day before the collection
date (D-1), for every sequence type. The debtor must be pre-notified 14 calendar days ahead unless
the merchant's terms agree on less.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

#: Banks' business day boundaries follow Central European Time.
BANK_TIMEZONE = ZoneInfo("Europe/Amsterdam")
#: The common paydays in the Netherlands and Germany: salaries mostly arrive on the 25th and at
#: the turn of the month. A retry without history aims at the day after one of them.
PAYDAYS = (1, 25)


@lru_cache(maxsize=64)
def _closing_days(year: int) -> frozenset[date]:
    return frozenset(holidays.financial_holidays("XECB", years=year))


def is_business_day(day: date) -> bool:
    """True on a TARGET2 settlement day."""
    return day.weekday() < 5 and day not in _closing_days(day.year)


def next_business_day(day: date) -> date:
    """The first TARGET2 business day strictly after ``day``."""
    day += timedelta(days=1)
    while not is_business_day(day):
        day += timedelta(days=1)
    return day


def on_or_after(day: date) -> date:
    """``day`` if it is a business day, else the next one."""
    return day if is_business_day(day) else next_business_day(day)


def add_business_days(day: date, count: int) -> date:
    """``count`` business days after ``day`` (``day`` itself when ``count`` is 0)."""
    for _ in range(count):
        day = next_business_day(day)
    return day


def bank_today(moment: datetime) -> date:
    """The calendar day at the bank for an aware moment."""
    return moment.astimezone(BANK_TIMEZONE).date()


def earliest_submission_day(today: date, lead_days: int) -> date:
    """When a file made today reaches the bank: the next business day from today on, plus the
    merchant's own lead time in business days."""
    return add_business_days(on_or_after(today), lead_days)


def earliest_collection_date(today: date, *, lead_days: int = 0,
                             prenotification_days: int = 14,
                             requested: date | None = None) -> date:
    """The first date a debit scheduled (and pre-notified) today may be collected on: after
    the D-1 submission, at least ``prenotification_days`` after today, not before the date the
    merchant asked for, and a business day."""
    after_submission = next_business_day(earliest_submission_day(today, lead_days))
    after_notice = today + timedelta(days=prenotification_days)
    candidates = [after_submission, after_notice] + ([requested] if requested else [])
    return on_or_after(max(candidates))


def latest_submission_day(collection_date: date) -> date:
    """The last business day a file for ``collection_date`` can reach the bank (D-1)."""
    day = collection_date - timedelta(days=1)
    while not is_business_day(day):
        day -= timedelta(days=1)
    return day


def retry_date(failed_on: date, delay_days: int, *, usual_day: int | None) -> date:
    """The day to present a retry: ``delay_days`` after the failure, then moved to the day most
    likely to find money on the account: the debtor's usual successful collection day of the
    month when there is a history, otherwise the day after the next common payday. A business
    day."""
    earliest = failed_on + timedelta(days=delay_days)
    if usual_day:
        return on_or_after(_next_day_of_month(earliest, usual_day))
    paydays = (_next_day_of_month(earliest - timedelta(days=1), payday) for payday in PAYDAYS)
    return on_or_after(min(paydays) + timedelta(days=1))


def _next_day_of_month(start: date, day_of_month: int) -> date:
    """The first date on or after ``start`` whose day of month is ``day_of_month`` (or the
    month's last day, when the month is shorter)."""
    year, month = start.year, start.month
    while True:
        last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1)).day
        candidate = date(year, month, min(day_of_month, last))
        if candidate >= start:
            return candidate
        month += 1
        if month > 12:
            year, month = year + 1, 1
