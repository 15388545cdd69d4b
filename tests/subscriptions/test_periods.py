"""Period arithmetic: anchored to a day of the month without drifting, a short first period
billed by its days, every interval."""

from __future__ import annotations

from datetime import date, timedelta

from hypothesis import given
from hypothesis import strategies as st

from portal.subscriptions.periods import first_anchor, period, prorated


def test_monthly_periods_on_the_31st_use_each_months_last_day_without_drifting() -> None:
    starts = [period(date(2026, 1, 31), 31, 1, n).starts_on for n in range(5)]
    assert starts == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31),
                      date(2026, 4, 30), date(2026, 5, 31)]
    assert period(date(2026, 1, 31), 31, 1, 0).ends_on == date(2026, 2, 28)


def test_a_start_before_the_anchor_day_gives_a_short_first_period() -> None:
    first = period(date(2026, 3, 20), 1, 3, 0)
    assert (first.starts_on, first.ends_on, first.partial) == (
        date(2026, 3, 20), date(2026, 4, 1), True)
    second = period(date(2026, 3, 20), 1, 3, 1)
    assert (second.starts_on, second.ends_on, second.partial) == (
        date(2026, 4, 1), date(2026, 7, 1), False)
    # 12 of the 90 days of the quarter January to March 2026.
    assert prorated(9000, date(2026, 3, 20), 1, 3) == 1200
    assert prorated(1000, date(2026, 3, 20), 1, 1) == 387  # 12/31 of 10.00, half a cent up


def test_every_interval() -> None:
    for months, second in ((1, date(2026, 2, 15)), (3, date(2026, 4, 15)),
                           (6, date(2026, 7, 15)), (12, date(2027, 1, 15))):
        assert period(date(2026, 1, 15), 15, months, 1).starts_on == second


@given(st.dates(min_value=date(2020, 1, 1), max_value=date(2040, 1, 1)),
       st.integers(min_value=1, max_value=31), st.sampled_from([1, 3, 6, 12]))
def test_periods_follow_each_other_without_gaps_and_land_on_the_anchor_day(
        start: date, anchor_day: int, months: int) -> None:
    previous = None
    for index in range(6):
        current = period(start, anchor_day, months, index)
        assert current.starts_on < current.ends_on
        if previous is not None:
            assert current.starts_on == previous.ends_on
        else:
            assert current.starts_on == start
        end = current.ends_on
        last_day = (end.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        assert end.day == min(anchor_day, last_day.day)
        previous = current
    assert first_anchor(start, anchor_day) >= start
