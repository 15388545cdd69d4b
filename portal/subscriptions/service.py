"""Plans and subscriptions: create a plan; start a subscription (its first period is billed at
once when it starts today); pause it from a date with or without a resume date, resume it, stop
it at the end of the period or at once, move it to another plan from the next period; for one
subscription or many at once (all or nothing). The scheduler does the rest on its dates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.collections.calendar import bank_today
from portal.db import open_transaction, where_given
from portal.events.service import emit_event
from portal.ids import looks_like, new_public_id
from portal.invoices.amounts import AmountError, normalised_rate
from portal.invoices.context import Billing
from portal.jobs.service import enqueue
from portal.mandates.models import Customer, Mandate, MandateStatus
from portal.merchants.models import Merchant
from portal.payments.models import ProviderMandate
from portal.payments.service import CustomerDetails
from portal.payments.stored import usable
from portal.subscriptions.lifecycle import (
    IllegalSubscriptionTransition,
    SubscriptionAction,
    subscription_event_data,
)
from portal.subscriptions.models import (
    Interval,
    PauseState,
    Plan,
    Subscription,
    SubscriptionPause,
    SubscriptionStatus,
)
from portal.subscriptions.schedule import (
    DueKind,
    current_period_end,
    next_due,
    open_pause,
    refresh_due_on,
)
from portal.subscriptions.scheduler import advance, apply_change, stop_now

#: The hourly billing run (subscriptions due, overdue invoices); it repeats itself.
RUN_JOB = "billing.run"
#: How far ahead a subscription may start, and the longest term by date.
MAX_START_DAYS = 366
MAX_TERM_YEARS = 30


class SubscriptionError(ValueError):
    """The request cannot be done as asked; ``field`` names the input at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class IgnoredRepeat(Exception):
    """Asked for what already is (the same plan again, a stop already planned): no change."""


# -- Plans ---------------------------------------------------------------------------------------

@dataclass(frozen=True)
class PlanSpec:
    name: str
    amount_cents: int
    interval: Interval
    vat_rate: str | None = None
    term_periods: int | None = None
    term_end_date: date | None = None


def create_plan(session: Session, merchant: Merchant, spec: PlanSpec, *, actor: str,
                now: datetime) -> Plan:
    if spec.amount_cents < 1:
        raise SubscriptionError("amount", "A plan costs at least 1 cent per period.")
    if spec.term_periods is not None and spec.term_end_date is not None:
        raise SubscriptionError("term_periods", "Give a term in periods or an end date, not both.")
    if spec.term_periods is not None and not 1 <= spec.term_periods <= 1000:
        raise SubscriptionError("term_periods", "Must be 1 to 1000 periods.")
    today = bank_today(now)
    if spec.term_end_date is not None and not (
            today < spec.term_end_date <= today.replace(year=today.year + MAX_TERM_YEARS)):
        raise SubscriptionError("term_end_date", f"Must be after today, within "
                                                 f"{MAX_TERM_YEARS} years.")
    try:
        rate = normalised_rate(spec.vat_rate) if spec.vat_rate is not None else None
    except AmountError as exc:
        raise SubscriptionError("vat_rate", str(exc)) from None
    plan = Plan(public_id=new_public_id("plan"), merchant_id=merchant.id, name=spec.name,
                amount_cents=spec.amount_cents, vat_rate=rate, interval=spec.interval,
                term_periods=spec.term_periods, term_end_date=spec.term_end_date,
                created_at=now)
    session.add(plan)
    session.flush()
    record_audit(session, action="plan.create", subject=plan.public_id, actor=actor,
                 merchant_id=merchant.id, now=now,
                 data={"name": plan.name, "amount_cents": plan.amount_cents,
                       "interval": plan.interval.value, "term_periods": plan.term_periods,
                       "term_end_date": plan.term_end_date.isoformat()
                       if plan.term_end_date else None})
    return plan


def find_plan(session: Session, merchant_id: int, public_id: str) -> Plan | None:
    if not looks_like(public_id, "plan"):
        return None
    return session.scalar(select(Plan).where(Plan.public_id == public_id,
                                             Plan.merchant_id == merchant_id))


def merchant_plans(merchant_id: int) -> Select[Any]:
    return select(Plan).where(Plan.merchant_id == merchant_id)


# -- Starting ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SubscriptionSpec:
    """A customer (existing or new) on a plan, collected on ``mandate`` (direct debit) or
    ``stored_mandate`` (a card token); with neither, each invoice is a payment request, and
    ``offer_mandate`` lets the first one set up the direct debit (sold through the checkout)."""

    customer: Customer | CustomerDetails
    plan: Plan
    start_date: date | None = None
    #: Day of the month periods start on; default the start date's.
    anchor_day: int | None = None
    mandate: Mandate | None = None
    stored_mandate: ProviderMandate | None = None
    offer_mandate: bool = False
    external_reference: str | None = None


def _check_instrument(spec: SubscriptionSpec, customer: Customer, today: date) -> None:
    if spec.mandate is not None and spec.stored_mandate is not None:
        raise SubscriptionError("mandate", "Give a mandate or a card token, not both.")
    if spec.mandate is not None and (spec.mandate.customer_id != customer.id
                                     or spec.mandate.status != MandateStatus.ACTIVE):
        raise SubscriptionError("mandate", "Must be an active mandate of this customer.")
    if spec.stored_mandate is not None and (spec.stored_mandate.customer_id != customer.id
                                            or not usable(spec.stored_mandate, today)):
        raise SubscriptionError("stored_mandate",
                                "Must be a valid card token or provider mandate of this customer.")


def start_subscription(session: Session, merchant: Merchant, spec: SubscriptionSpec, *,
                       actor: str, now: datetime, billing: Billing) -> Subscription:
    """Create the subscription (``subscription.created``); when it starts today its first
    period is billed now, in the same transaction, so a checkout link exists at once."""
    today = bank_today(now)
    start = spec.start_date or today
    if not today <= start <= today + timedelta(days=MAX_START_DAYS):
        raise SubscriptionError("start_date", f"Must be today or later, within "
                                              f"{MAX_START_DAYS} days.")
    anchor_day = spec.anchor_day or start.day
    if not 1 <= anchor_day <= 31:
        raise SubscriptionError("anchor_day", "Must be a day of the month, 1 to 31.")
    if spec.plan.merchant_id != merchant.id:
        raise SubscriptionError("plan", "No plan with this id.")
    customer = spec.customer
    if isinstance(customer, CustomerDetails):
        customer = Customer(
            public_id=new_public_id("cus"), merchant_id=merchant.id, name=customer.name,
            email=customer.email, phone=customer.phone, locale=customer.locale or merchant.locale,
            external_reference=customer.external_reference, created_at=now)
        session.add(customer)
        session.flush()
    elif customer.merchant_id != merchant.id:
        raise SubscriptionError("customer_id", "The customer belongs to another merchant.")
    _check_instrument(spec, customer, today)
    subscription = Subscription(
        public_id=new_public_id("sub"), merchant_id=merchant.id, customer=customer,
        plan=spec.plan, mandate=spec.mandate, stored_mandate=spec.stored_mandate,
        status=SubscriptionStatus.ACTIVE, start_date=start, anchor_day=anchor_day,
        periods_from=start, periods_from_index=0, next_period=0, billed_periods=0,
        offer_mandate=spec.offer_mandate, external_reference=spec.external_reference,
        created_at=now, updated_at=now)
    session.add(subscription)
    refresh_due_on(subscription)
    session.flush()
    record_audit(session, action="subscription.create", subject=subscription.public_id,
                 actor=actor, merchant_id=merchant.id, now=now,
                 data={"plan": spec.plan.public_id, "customer": customer.public_id,
                       "start_date": start.isoformat(), "anchor_day": anchor_day})
    emit_event(session, merchant_id=merchant.id, type="subscription.created",
               subject=subscription.public_id, now=now, data=subscription_event_data(
                   subscription, {"start_date": start.isoformat(), "anchor_day": anchor_day}))
    if start <= today:
        advance(session, subscription, today=today, now=now, billing=billing, actor=actor)
    schedule_run(session, now)
    return subscription


def schedule_run(session: Session, at: datetime) -> None:
    """Queue the billing run for ``at`` (once per hour slot)."""
    slot = at.replace(minute=0, second=0, microsecond=0)
    enqueue(session, RUN_JOB, {}, dedupe_key=f"{RUN_JOB}:{slot.isoformat()}", run_at=at)


# -- Changing ------------------------------------------------------------------------------------

def _not_stopped(subscription: Subscription, action: SubscriptionAction) -> None:
    if subscription.status is SubscriptionStatus.STOPPED:
        raise IllegalSubscriptionTransition(subscription.status, action)


def pause_subscription(session: Session, subscription: Subscription, *, pause_from: date,
                       resume_on: date | None, actor: str, now: datetime) -> Subscription:
    """No period starting from ``pause_from`` (today or later) until ``resume_on`` (or until
    resumed) is billed; a pause from today begins now (``subscription.paused``), a later one
    on its date. A pause planned but not begun is replaced."""
    _not_stopped(subscription, SubscriptionAction.PAUSE)
    today = bank_today(now)
    if pause_from < today:
        raise SubscriptionError("pause_from", "Must be today or later.")
    if resume_on is not None and resume_on <= pause_from:
        raise SubscriptionError("resume_on", "Must be after pause_from.")
    current = open_pause(subscription)
    if current is not None and current.state is PauseState.CURRENT:
        raise IllegalSubscriptionTransition(subscription.status, SubscriptionAction.PAUSE)
    if current is not None:
        current.state, current.updated_at = PauseState.CANCELLED, now
    pause = SubscriptionPause(subscription=subscription, starts_on=pause_from,
                              resumes_on=resume_on, state=PauseState.SCHEDULED,
                              created_at=now, updated_at=now)
    session.add(pause)
    record_audit(session, action="subscription.pause_planned", subject=subscription.public_id,
                 actor=actor, merchant_id=subscription.merchant_id, now=now,
                 data={"pause_from": pause_from.isoformat(),
                       "resume_on": resume_on.isoformat() if resume_on else None})
    _apply_due_today(session, subscription, today, now, actor)
    return subscription


def resume_subscription(session: Session, subscription: Subscription, *,
                        resume_on: date | None, actor: str, now: datetime) -> Subscription:
    """End the pause: now (``subscription.resumed``), or on ``resume_on``; a pause that has not
    begun is dropped. IllegalSubscriptionTransition without a pause."""
    _not_stopped(subscription, SubscriptionAction.RESUME)
    today = bank_today(now)
    pause = open_pause(subscription)
    if pause is None:
        raise IllegalSubscriptionTransition(subscription.status, SubscriptionAction.RESUME)
    if resume_on is not None and resume_on < today:
        raise SubscriptionError("resume_on", "Must be today or later.")
    if pause.state is PauseState.SCHEDULED:
        pause.state, pause.updated_at = PauseState.CANCELLED, now
        record_audit(session, action="subscription.pause_cancelled",
                     subject=subscription.public_id, actor=actor,
                     merchant_id=subscription.merchant_id, now=now,
                     data={"pause_from": pause.starts_on.isoformat()})
    else:
        pause.resumes_on, pause.updated_at = resume_on or today, now
        record_audit(session, action="subscription.resume_planned",
                     subject=subscription.public_id, actor=actor,
                     merchant_id=subscription.merchant_id, now=now,
                     data={"resume_on": pause.resumes_on.isoformat()})
    _apply_due_today(session, subscription, today, now, actor)
    return subscription


def stop_subscription(session: Session, subscription: Subscription, *, at_period_end: bool,
                      actor: str, now: datetime) -> Subscription:
    """Stop at once (``subscription.stopped`` now), or at the end of the period running today
    (no further period is billed; the event comes on that day)."""
    _not_stopped(subscription, SubscriptionAction.STOP)
    today = bank_today(now)
    if not at_period_end:
        stop_now(session, subscription, reason="merchant", effective=today, actor=actor,
                 now=now)
        return subscription
    end = current_period_end(subscription, today)
    if subscription.stop_on is not None and subscription.stop_on <= end:
        raise IgnoredRepeat(f"already stopping on {subscription.stop_on.isoformat()}")
    subscription.stop_on, subscription.stop_reason = end, "merchant"
    subscription.updated_at = now
    record_audit(session, action="subscription.stop_planned", subject=subscription.public_id,
                 actor=actor, merchant_id=subscription.merchant_id, now=now,
                 data={"stop_on": end.isoformat()})
    _apply_due_today(session, subscription, today, now, actor)
    return subscription


def change_plan(session: Session, subscription: Subscription, plan: Plan, *, actor: str,
                now: datetime) -> Subscription:
    """Bill ``plan`` from the next period on (``subscription.changed`` on that day)."""
    _not_stopped(subscription, SubscriptionAction.CHANGE)
    if plan.merchant_id != subscription.merchant_id:
        raise SubscriptionError("plan", "No plan with this id.")
    if plan.id == subscription.plan_id and subscription.pending_plan_id is None:
        raise IgnoredRepeat("already on this plan")
    if plan.id == subscription.pending_plan_id and subscription.pending_plan_from is not None:
        raise IgnoredRepeat(f"already changing to this plan from "
                            f"{subscription.pending_plan_from.isoformat()}")
    today = bank_today(now)
    effective = current_period_end(subscription, today)
    if plan.id == subscription.plan_id:
        subscription.pending_plan, subscription.pending_plan_from = None, None
    else:
        subscription.pending_plan, subscription.pending_plan_from = plan, effective
    subscription.updated_at = now
    record_audit(session, action="subscription.change_planned", subject=subscription.public_id,
                 actor=actor, merchant_id=subscription.merchant_id, now=now,
                 data={"plan": plan.public_id, "effective_from": effective.isoformat()})
    refresh_due_on(subscription)
    return subscription


def _apply_due_today(session: Session, subscription: Subscription, today: date,
                     now: datetime, actor: str) -> None:
    """Changes dated today take effect at once (billing periods is the scheduler's)."""
    refresh_due_on(subscription)
    while (due := next_due(subscription)) is not None and due.on <= today \
            and due.kind is not DueKind.PERIOD:
        apply_change(session, subscription, due, now=now, actor=actor)
        refresh_due_on(subscription)


# -- Many at once --------------------------------------------------------------------------------

class BulkRefused(Exception):
    """Some operations cannot be done; nothing was: ``errors`` lists them by position."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(f"{len(errors)} operations refused")
        self.errors = errors


def apply_all(session: Session, operations: list[Callable[[], Any]]) -> list[Any]:
    """Run every operation in the caller's transaction, each in a savepoint; if any is refused
    none counts (BulkRefused with each refusal's position and field)."""
    results: list[Any] = []
    errors: list[dict[str, str]] = []
    open_transaction(session)
    for position, operation in enumerate(operations):
        try:
            with session.begin_nested():
                results.append(operation())
        except SubscriptionError as exc:
            errors.append({"field": f"operations[{position}].{exc.field}", "message": str(exc)})
        except (IllegalSubscriptionTransition, IgnoredRepeat) as exc:
            errors.append({"field": f"operations[{position}]", "message": str(exc)})
    if errors:
        raise BulkRefused(errors)
    return results


# -- Finding -------------------------------------------------------------------------------------

def find_subscription(session: Session, merchant_id: int, public_id: str
                      ) -> Subscription | None:
    if not looks_like(public_id, "sub"):
        return None
    return session.scalar(select(Subscription).where(Subscription.public_id == public_id,
                                                     Subscription.merchant_id == merchant_id))


def merchant_subscriptions(merchant_id: int, *, status: SubscriptionStatus | None = None,
                           customer_id: int | None = None, plan_id: int | None = None,
                           external_reference: str | None = None) -> Select[Any]:
    """The merchant's subscriptions, optionally filtered (unordered; callers paginate)."""
    return where_given(select(Subscription).where(Subscription.merchant_id == merchant_id),
                       (Subscription.status, status), (Subscription.customer_id, customer_id),
                       (Subscription.plan_id, plan_id),
                       (Subscription.external_reference, external_reference))
