"""The scheduler: makes each period's invoice and its collection exactly once, applies pauses,
resumes, plan changes and stops on their dates, and catches up in order after downtime.

Exactly once, with any number of schedulers and any of them killed at any moment:

- each step (one period billed or skipped, one dated change) is one transaction, so a kill
  leaves either all of it or nothing;
- a subscription is worked on by the scheduler that claimed it (a conditional UPDATE on an
  absent or expired lease, after ``SKIP LOCKED`` on PostgreSQL), renewed at every step, so a
  killed scheduler's subscriptions wait only until its lease ends;
- and whatever happens to claims, a period's row is unique on (subscription, index): a second
  scheduler billing the same period fails on that constraint and its whole step rolls back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.collections.calendar import bank_today
from portal.db import affected_rows
from portal.events.service import emit_event
from portal.invoices.amounts import line_from_gross
from portal.invoices.context import Billing
from portal.invoices.service import InvoiceSpec, create_invoice
from portal.subscriptions.lifecycle import (
    SubscriptionAction,
    apply_subscription_transition,
    subscription_event_data,
)
from portal.subscriptions.models import (
    PauseState,
    PeriodOutcome,
    Subscription,
    SubscriptionPeriod,
    SubscriptionStatus,
)
from portal.subscriptions.periods import prorated
from portal.subscriptions.schedule import (
    Due,
    DueKind,
    next_due,
    open_pause,
    period_of,
    refresh_due_on,
)

log = logging.getLogger(__name__)
#: How long a claim holds a subscription unless ``SUBSCRIPTIONS_LEASE_SECONDS`` says otherwise.
LEASE = timedelta(minutes=5)
Clock = Callable[[], datetime]


class PeriodTaken(Exception):
    """Another scheduler decided this period first (its row exists): this step rolls back."""


@dataclass
class RunSummary:
    billed: list[tuple[str, int]] = field(default_factory=list)
    skipped: list[tuple[str, int]] = field(default_factory=list)
    changes: list[tuple[str, str]] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    #: Subscriptions with something due left when the run ended (another scheduler holds
    #: them, or a killed one's claim has not run out yet).
    still_due: int = 0


# -- One step -----------------------------------------------------------------------------------

def advance(session: Session, subscription: Subscription, *, today: date, now: datetime,
            billing: Billing, actor: str, summary: RunSummary | None = None) -> Due | None:
    """Apply the subscription's next due thing if it is due by ``today``, in the caller's
    transaction; returns it (None: nothing due). PeriodTaken if another scheduler billed it."""
    due = next_due(subscription)
    if due is None or due.on > today:
        return None
    summary = summary if summary is not None else RunSummary()
    if due.kind is DueKind.PERIOD:
        outcome = _decide_period(session, subscription, now=now, billing=billing, actor=actor)
        target = summary.billed if outcome is PeriodOutcome.BILLED else summary.skipped
        target.append((subscription.public_id, subscription.next_period - 1))
    else:
        apply_change(session, subscription, due, now=now, actor=actor)
        summary.changes.append((subscription.public_id, due.kind.name.lower()))
    refresh_due_on(subscription)
    return due


def _decide_period(session: Session, subscription: Subscription, *, now: datetime,
                   billing: Billing, actor: str) -> PeriodOutcome:
    index = subscription.next_period
    span = period_of(subscription, index)
    plan = subscription.plan
    paused = subscription.status is SubscriptionStatus.PAUSED
    amount = 0 if paused else (prorated(plan.amount_cents, span.starts_on, subscription.anchor_day,
                                        plan.interval.months)
                               if span.partial else plan.amount_cents)
    row = SubscriptionPeriod(
        subscription_id=subscription.id, index=index, starts_on=span.starts_on,
        ends_on=span.ends_on, plan_id=plan.id,
        outcome=PeriodOutcome.SKIPPED if paused or amount == 0 else PeriodOutcome.BILLED,
        amount_cents=amount, decided_by=actor, created_at=now)
    try:
        with session.begin_nested():
            session.add(row)
            session.flush()
    except IntegrityError:
        raise PeriodTaken(f"{subscription.public_id} period {index}") from None
    subscription.next_period = index + 1
    last_day = span.ends_on - timedelta(days=1)
    data = {"period": index, "period_start": span.starts_on.isoformat(),
            "period_end": last_day.isoformat()}
    if row.outcome is PeriodOutcome.SKIPPED:
        record_audit(session, action="subscription.period_skipped", subject=subscription.public_id,
                     actor=actor, merchant_id=subscription.merchant_id, now=now,
                     data={**data, "reason": "paused" if paused else "nothing to bill"})
        return row.outcome
    description = f"{plan.name} {span.starts_on.isoformat()} – {last_day.isoformat()}"
    invoice = create_invoice(session, subscription.merchant, InvoiceSpec(
        customer=subscription.customer, description=description[:140],
        lines=(line_from_gross(description[:140], amount, plan.vat_rate),),
        mandate=subscription.mandate, use_customer_mandate=False,
        offer_mandate=subscription.offer_mandate and subscription.mandate is None,
        external_reference=subscription.external_reference, subscription_id=subscription.id,
        event_data={"subscription": subscription.public_id, "period": index}),
        actor=actor, now=now, billing=billing)
    row.invoice_id = invoice.id
    subscription.billed_periods += 1
    if plan.term_periods is not None and subscription.billed_periods >= plan.term_periods:
        subscription.stop_on, subscription.stop_reason = span.ends_on, "term_ended"
    subscription.updated_at = now
    collection = invoice.debit.public_id if invoice.debit else (
        invoice.payment_request.public_id if invoice.payment_request else None)
    emit_event(session, merchant_id=subscription.merchant_id, type="subscription.period_billed",
               subject=subscription.public_id, now=now, data=subscription_event_data(
                   subscription, {**data, "invoice": invoice.public_id, "amount": amount,
                                  "collection": invoice.collection.value,
                                  "collection_id": collection}))
    return row.outcome


def apply_change(session: Session, subscription: Subscription, due: Due, *, now: datetime,
                 actor: str) -> None:
    """A dated change taking effect: a stop (or the term's end), a pause beginning or ending,
    the next plan."""
    on = due.on.isoformat()
    if due.kind in (DueKind.STOP, DueKind.TERM_END):
        reason = "term_ended" if due.kind is DueKind.TERM_END else (
            subscription.stop_reason or "merchant")
        stop_now(session, subscription, reason=reason, effective=due.on, actor=actor, now=now)
    elif due.kind is DueKind.PAUSE:
        pause = open_pause(subscription)
        assert pause is not None
        pause.state, pause.updated_at = PauseState.CURRENT, now
        apply_subscription_transition(
            session, subscription, SubscriptionAction.PAUSE, actor=actor, now=now,
            data={"paused_from": on, "resume_on": pause.resumes_on.isoformat()
                  if pause.resumes_on else None})
    elif due.kind is DueKind.RESUME:
        pause = open_pause(subscription)
        assert pause is not None
        pause.state, pause.updated_at = PauseState.ENDED, now
        apply_subscription_transition(session, subscription, SubscriptionAction.RESUME,
                                      actor=actor, now=now, data={"resumed_on": on})
    elif due.kind is DueKind.PLAN_CHANGE:
        previous = subscription.plan
        new_plan = subscription.pending_plan
        assert new_plan is not None
        subscription.plan, subscription.pending_plan = new_plan, None
        subscription.pending_plan_from = None
        subscription.periods_from, subscription.periods_from_index = (
            due.on, subscription.next_period)
        subscription.billed_periods = 0
        apply_subscription_transition(
            session, subscription, SubscriptionAction.CHANGE, actor=actor, now=now,
            data={"previous_plan": previous.public_id, "effective_from": on})


def stop_now(session: Session, subscription: Subscription, *, reason: str, effective: date,
             actor: str, now: datetime) -> None:
    """End it: no further periods; a pause or plan change waiting is dropped."""
    for pause in subscription.pauses:
        if pause.state is PauseState.SCHEDULED:
            pause.state, pause.updated_at = PauseState.CANCELLED, now
        elif pause.state is PauseState.CURRENT:
            pause.state, pause.updated_at = PauseState.ENDED, now
    subscription.pending_plan, subscription.pending_plan_from = None, None
    subscription.stop_on, subscription.stop_reason = effective, reason
    subscription.stopped_at = now
    apply_subscription_transition(session, subscription, SubscriptionAction.STOP, actor=actor,
                                  now=now, data={"reason": reason,
                                                 "effective_date": effective.isoformat()})
    subscription.due_on = None


# -- Claims and the run -------------------------------------------------------------------------

def _lock_claimed(session: Session, subscription_id: int, worker: str, now: datetime,
                  lease: timedelta) -> Subscription | None:
    """Renew our claim (the row's lock, taken first), then read the subscription as committed;
    None if the claim is no longer ours."""
    renewed = session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id, Subscription.claimed_by == worker)
        .values(claimed_until=now + lease)
        .execution_options(synchronize_session=False))
    if affected_rows(renewed) != 1:
        session.rollback()
        return None
    return session.get(Subscription, subscription_id, populate_existing=True)


def claim(session: Session, subscription_id: int, worker: str, now: datetime,
          lease: timedelta) -> bool:
    """Take the subscription for this scheduler if nobody else holds it; commits the claim."""
    taken = session.execute(
        update(Subscription)
        .where(Subscription.id == subscription_id,
               or_(Subscription.claimed_until.is_(None), Subscription.claimed_until < now,
                   Subscription.claimed_by == worker))
        .values(claimed_by=worker, claimed_until=now + lease)
        .execution_options(synchronize_session=False))
    session.commit()
    return affected_rows(taken) == 1


def _release(session: Session, subscription_id: int, worker: str) -> None:
    session.execute(update(Subscription)
                    .where(Subscription.id == subscription_id, Subscription.claimed_by == worker)
                    .values(claimed_by=None, claimed_until=None)
                    .execution_options(synchronize_session=False))
    session.commit()


def due_subscriptions(session: Session, today: date, now: datetime, *, limit: int = 50,
                      claimed_too: bool = False) -> list[int]:
    """Subscriptions with something due by ``today``, earliest first (unclaimed ones only,
    skipping rows another scheduler has locked, unless ``claimed_too``)."""
    query = (select(Subscription.id)
             .where(Subscription.status != SubscriptionStatus.STOPPED,
                    Subscription.due_on <= today)
             .order_by(Subscription.due_on, Subscription.id).limit(limit))
    if not claimed_too:
        query = query.where(or_(Subscription.claimed_until.is_(None),
                                Subscription.claimed_until < now)).with_for_update(
            skip_locked=True)
    ids = list(session.scalars(query))
    session.rollback()
    return ids


def bill_subscription(factory: Callable[[], Session], subscription_id: int, *, worker: str,
                      today: date, clock: Clock, lease: timedelta, billing: Billing,
                      summary: RunSummary) -> None:
    """Everything due by ``today`` for one claimed subscription, one transaction per step, in
    date order; the claim is renewed at each step and released at the end (a killed
    scheduler's claim runs out instead)."""
    with factory() as session:
        while True:
            now = clock()
            subscription = _lock_claimed(session, subscription_id, worker, now, lease)
            if subscription is None:
                return  # our lease ran out and another scheduler holds it now
            try:
                done = advance(session, subscription, today=today, now=now, billing=billing,
                               actor=f"scheduler:{worker}", summary=summary)
            except PeriodTaken as taken:
                session.rollback()
                log.warning("period billed by another scheduler: %s", taken)
                return
            session.commit()
            if done is None:
                break
        _release(session, subscription_id, worker)


def run_scheduler(factory: Callable[[], Session], *, worker: str, clock: Clock,
                  billing: Billing, lease: timedelta = LEASE) -> RunSummary:
    """Bill every subscription with something due by today (bank time, when the run began),
    each claimed first; one subscription's failure is logged and leaves the others be."""
    summary = RunSummary()
    today = bank_today(clock())
    seen: set[int] = set()
    while True:
        with factory() as session:
            candidates = [i for i in due_subscriptions(session, today, clock())
                          if i not in seen]
        if not candidates:
            break
        for subscription_id in candidates:
            seen.add(subscription_id)
            with factory() as session:
                if not claim(session, subscription_id, worker, clock(), lease):
                    continue
            try:
                bill_subscription(factory, subscription_id, worker=worker, today=today,
                                  clock=clock, lease=lease, billing=billing, summary=summary)
            except Exception as exc:  # logged and counted; the claim runs out for a retry
                log.exception("subscription %s not billed", subscription_id)
                summary.problems.append(f"{subscription_id}: {type(exc).__name__}: {exc}")
    with factory() as session:
        summary.still_due = len(due_subscriptions(session, today, clock(), claimed_too=True))
    return summary
