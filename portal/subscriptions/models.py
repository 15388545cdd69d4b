"""Plans and subscriptions: what a customer is billed for each period, the pauses in between,
and one row per period billed (or skipped), whose unique key is what bills a period once."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import Boolean, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, enum_column
from portal.mandates.models import Customer, Mandate
from portal.merchants.models import Merchant
from portal.payments.models import ProviderMandate


class Interval(enum.StrEnum):
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"
    HALF_YEARLY = "half_yearly"
    YEARLY = "yearly"

    @property
    def months(self) -> int:
        return {"monthly": 1, "quarterly": 3, "half_yearly": 6, "yearly": 12}[self.value]


class Plan(Base):
    """What a subscription bills each period: an amount (VAT included) per interval, for an
    optional term (a number of billed periods, or an end date)."""

    __tablename__ = "plan"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    #: Per period, VAT included, in cents.
    amount_cents: Mapped[int] = mapped_column(Integer)
    #: Percent included in the amount, e.g. ``"21"``; None: no VAT shown.
    vat_rate: Mapped[str | None] = mapped_column(String(6))
    interval: Mapped[Interval] = mapped_column(enum_column(Interval))
    #: The term: this many billed periods, or no period starting on or after this date.
    term_periods: Mapped[int | None] = mapped_column(Integer)
    term_end_date: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime]


class SubscriptionStatus(enum.StrEnum):
    """Changed only by :mod:`portal.subscriptions.lifecycle`."""

    ACTIVE = "active"
    PAUSED = "paused"
    STOPPED = "stopped"


class Subscription(Base):
    """A customer's plan, collected on their mandate (or card token) each period.

    Periods run from anchor day to anchor day, ``plan.interval`` apart; a first period that
    starts before the first anchor day is billed in proportion to its days. The scheduler bills
    period ``next_period`` once ``due_on`` (the earliest thing still to happen) has come."""

    __tablename__ = "subscription"
    __table_args__ = (Index("ix_subscription_due", "status", "due_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"), index=True)
    #: What it is collected on: a Core (or B2B) mandate by direct debit, or a stored card
    #: token; neither (sold through the checkout): each invoice is a payment request, and the
    #: first one paid with "pay future invoices by direct debit" gives the mandate.
    mandate_id: Mapped[int | None] = mapped_column(ForeignKey("mandate.id"), index=True)
    stored_mandate_id: Mapped[int | None] = mapped_column(ForeignKey("provider_mandate.id"))
    status: Mapped[SubscriptionStatus] = mapped_column(enum_column(SubscriptionStatus))
    start_date: Mapped[date] = mapped_column(Date)
    #: Day of the month periods start on (1–31; shorter months use their last day).
    anchor_day: Mapped[int] = mapped_column(Integer)
    #: Periods are counted from this date, whose period has index ``periods_from_index``: the
    #: start date at first, the first period on the new plan after a plan change (a change of
    #: interval starts a new count).
    periods_from: Mapped[date] = mapped_column(Date)
    periods_from_index: Mapped[int] = mapped_column(Integer, default=0)
    #: The next period to bill or skip (0 is the first), and how many were billed on the
    #: current plan (its term).
    next_period: Mapped[int] = mapped_column(Integer, default=0)
    billed_periods: Mapped[int] = mapped_column(Integer, default=0)
    #: The earliest date something is due: a period start, a pause or resume, a plan change,
    #: a stop, the end of the term. None once stopped.
    due_on: Mapped[date | None] = mapped_column(Date)
    #: A plan change waiting for its period (the first period not billed when it was asked).
    pending_plan_id: Mapped[int | None] = mapped_column(ForeignKey("plan.id"))
    pending_plan_from: Mapped[date | None] = mapped_column(Date)
    #: Stop at the end of the current period: the first day not covered any more.
    stop_on: Mapped[date | None] = mapped_column(Date)
    stopped_at: Mapped[datetime | None]
    stop_reason: Mapped[str | None] = mapped_column(String(40))
    #: Its invoices offer "pay future invoices by direct debit" (sold through the checkout).
    offer_mandate: Mapped[bool] = mapped_column(Boolean, default=False)
    external_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    #: The scheduler holding it now, and until when (a killed one's claim runs out).
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    claimed_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    merchant: Mapped[Merchant] = relationship()
    customer: Mapped[Customer] = relationship()
    plan: Mapped[Plan] = relationship(foreign_keys=[plan_id])
    pending_plan: Mapped[Plan | None] = relationship(foreign_keys=[pending_plan_id])
    mandate: Mapped[Mandate | None] = relationship()
    stored_mandate: Mapped[ProviderMandate | None] = relationship()
    pauses: Mapped[list[SubscriptionPause]] = relationship(order_by="SubscriptionPause.id",
                                                           back_populates="subscription")


class PauseState(enum.StrEnum):
    SCHEDULED = "scheduled"
    CURRENT = "current"
    ENDED = "ended"
    #: Dropped before it began (the merchant resumed, or stopped the subscription).
    CANCELLED = "cancelled"


class SubscriptionPause(Base):
    """No period starting from ``starts_on`` up to ``resumes_on`` (open-ended: until resumed)
    is billed. A subscription has at most one pause that is scheduled or current."""

    __tablename__ = "subscription_pause"

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id"), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    resumes_on: Mapped[date | None] = mapped_column(Date)
    state: Mapped[PauseState] = mapped_column(enum_column(PauseState))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    subscription: Mapped[Subscription] = relationship(back_populates="pauses")


class PeriodOutcome(enum.StrEnum):
    BILLED = "billed"
    #: Paused on the period's first day: nothing billed.
    SKIPPED = "skipped"


class SubscriptionPeriod(Base):
    """One period of a subscription, decided once: the unique (subscription, index) is the
    guarantee that no period is ever billed twice, whichever scheduler gets there first."""

    __tablename__ = "subscription_period"
    __table_args__ = (UniqueConstraint("subscription_id", "index"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscription_id: Mapped[int] = mapped_column(ForeignKey("subscription.id"), index=True)
    index: Mapped[int] = mapped_column(Integer)
    starts_on: Mapped[date] = mapped_column(Date)
    #: The first day of the next period.
    ends_on: Mapped[date] = mapped_column(Date)
    plan_id: Mapped[int] = mapped_column(ForeignKey("plan.id"))
    outcome: Mapped[PeriodOutcome] = mapped_column(enum_column(PeriodOutcome))
    amount_cents: Mapped[int] = mapped_column(Integer)
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoice.id"), unique=True)
    #: Which scheduler decided it (for the record).
    decided_by: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime]

    plan: Mapped[Plan] = relationship()


__all__ = ["Interval", "PauseState", "PeriodOutcome", "Plan", "Subscription", "SubscriptionPause",
           "SubscriptionPeriod", "SubscriptionStatus"]
