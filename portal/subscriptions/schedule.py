"""A subscription's timeline: its periods on the current plan, the end of the current period,
and the next thing due (a stop, the end of the term, a resume, a pause, a plan change, or a
period to bill), in the order that same-day things happen."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import date

from portal.subscriptions.models import (
    PauseState,
    Subscription,
    SubscriptionPause,
    SubscriptionStatus,
)
from portal.subscriptions.periods import Period, period


class DueKind(enum.IntEnum):
    """What is due; on the same day the lower value comes first, so a stop on a period's first
    day bills nothing more, a pause starting on it skips it, and a new plan bills it."""

    STOP = 0
    TERM_END = 1
    RESUME = 2
    PAUSE = 3
    PLAN_CHANGE = 4
    PERIOD = 5


@dataclass(frozen=True)
class Due:
    on: date
    kind: DueKind


def period_of(subscription: Subscription, index: int) -> Period:
    """Period ``index`` on the subscription's current plan."""
    offset = index - subscription.periods_from_index
    found = period(subscription.periods_from, subscription.anchor_day,
                   subscription.plan.interval.months, offset)
    return Period(index, found.starts_on, found.ends_on, found.partial)


def current_period_end(subscription: Subscription, today: date) -> date:
    """The first day after the period running today (billed, or about to be): where "at the
    end of the period" and "from the next period" begin. Before the start: the start."""
    index = subscription.next_period
    found = period_of(subscription, index)
    while found.ends_on <= today:
        index += 1
        found = period_of(subscription, index)
    return found.ends_on if found.starts_on <= today else found.starts_on


def open_pause(subscription: Subscription) -> SubscriptionPause | None:
    """The pause that is scheduled or current (there is at most one)."""
    return next((pause for pause in subscription.pauses
                 if pause.state in (PauseState.SCHEDULED, PauseState.CURRENT)), None)


def next_due(subscription: Subscription) -> Due | None:
    """The earliest thing still to happen to the subscription; None once stopped."""
    if subscription.status is SubscriptionStatus.STOPPED:
        return None
    candidates = [Due(period_of(subscription, subscription.next_period).starts_on,
                      DueKind.PERIOD)]
    if subscription.stop_on is not None:
        candidates.append(Due(subscription.stop_on, DueKind.STOP))
    if subscription.plan.term_end_date is not None:
        candidates.append(Due(subscription.plan.term_end_date, DueKind.TERM_END))
    pause = open_pause(subscription)
    if pause is not None and pause.state is PauseState.SCHEDULED:
        candidates.append(Due(pause.starts_on, DueKind.PAUSE))
    elif pause is not None and pause.resumes_on is not None:
        candidates.append(Due(pause.resumes_on, DueKind.RESUME))
    if subscription.pending_plan_from is not None:
        candidates.append(Due(subscription.pending_plan_from, DueKind.PLAN_CHANGE))
    return min(candidates, key=lambda due: (due.on, due.kind))


def refresh_due_on(subscription: Subscription) -> None:
    """Keep ``due_on`` (what the scheduler queries) in step with the timeline."""
    due = next_due(subscription)
    subscription.due_on = due.on if due is not None else None
