"""Period arithmetic, free of the database: where period *n* of a subscription starts and ends,
and what a short first period costs.

Periods start on the anchor day (the 31st in a 30-day month is the 30th, in February the 28th
or 29th) and are ``interval`` months apart, each counted from the first anchor date, so they
never drift (31 Jan, 28 Feb, 31 Mar, …). A subscription starting on its anchor day has only
whole periods; one starting earlier first has a short period up to the first anchor date,
billed in proportion to its days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from dateutil.relativedelta import relativedelta


@dataclass(frozen=True)
class Period:
    index: int
    starts_on: date
    #: The first day of the next period.
    ends_on: date
    #: A short first period (before the first anchor date).
    partial: bool


def anchored(day: date, anchor_day: int) -> date:
    """The anchor date in ``day``'s month."""
    return day + relativedelta(day=anchor_day)


def first_anchor(start: date, anchor_day: int) -> date:
    """The first anchor date on or after ``start``."""
    candidate = anchored(start, anchor_day)
    if candidate < start:
        candidate = anchored(start + relativedelta(months=1, day=1), anchor_day)
    return candidate


def period(start: date, anchor_day: int, months: int, index: int) -> Period:
    """Period ``index`` (0 is the first) of a subscription starting on ``start``."""
    if index < 0:
        raise ValueError("period index must not be negative")
    anchor = first_anchor(start, anchor_day)
    short = anchor != start
    if short and index == 0:
        return Period(0, start, anchor, True)
    whole = index - 1 if short else index
    begins = anchor + relativedelta(months=whole * months, day=anchor_day)
    ends = anchor + relativedelta(months=(whole + 1) * months, day=anchor_day)
    return Period(index, begins, ends, False)


def prorated(amount_cents: int, start: date, anchor_day: int, months: int) -> int:
    """What the short first period costs: the days it has, over the days of the whole period
    ending on the first anchor date; half a cent rounds up."""
    anchor = first_anchor(start, anchor_day)
    whole_start = anchor - relativedelta(months=months) + relativedelta(day=anchor_day)
    share = Decimal((anchor - start).days) / Decimal((anchor - whole_start).days)
    return int((Decimal(amount_cents) * share).quantize(Decimal(1), ROUND_HALF_UP))


__all__ = ["Period", "anchored", "first_anchor", "period", "prorated"]
