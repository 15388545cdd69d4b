"""When to try a failed delivery again: a fixed, growing schedule with jitter, spanning days."""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

#: Seconds to wait after the 1st, 2nd, … failed attempt: 13 attempts over about 4.2 days.
DEFAULT_SCHEDULE: tuple[int, ...] = (30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200,
                                     86400, 86400, 86400)
#: Each wait is scaled by a random factor in this range so retries of many deliveries spread out.
JITTER = (0.85, 1.15)
#: An endpoint's ``Retry-After`` is honoured up to this long.
MAX_RETRY_AFTER = timedelta(hours=24)
#: Delay-seconds (RFC 9110): ASCII digits only (``str.isdigit`` also takes ``²``, which ``int``
#: refuses); more than 9 digits is beyond any limit (and beyond ``timedelta``).
_SECONDS = re.compile(r"[0-9]{1,9}")


def retry_delay(failed_attempts: int, schedule: Sequence[float] = DEFAULT_SCHEDULE, *,
                retry_after: timedelta | None = None,
                rng: random.Random | None = None) -> timedelta | None:
    """The wait before the next attempt after ``failed_attempts`` failures, or None: give up."""
    if failed_attempts < 1 or failed_attempts > len(schedule):
        return None
    factor = (rng or random).uniform(*JITTER)
    delay = timedelta(seconds=schedule[failed_attempts - 1] * factor)
    if retry_after is not None:
        delay = max(delay, min(retry_after, MAX_RETRY_AFTER))
    return delay


def parse_retry_after(value: str | None, now: datetime) -> timedelta | None:
    """``Retry-After`` as seconds or an HTTP date; None when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if _SECONDS.fullmatch(value):
        return timedelta(seconds=int(value))
    if value.isascii() and value.isdigit():
        return MAX_RETRY_AFTER
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(when - now, timedelta(0))
