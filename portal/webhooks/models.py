"""A delivery is one event on its way to a merchant's endpoint; each HTTP try is an attempt."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, enum_column
from portal.events.models import Event
from portal.merchants.models import Merchant


class DeliveryStatus(enum.StrEnum):
    #: Waiting for its next attempt, or parked (no ``next_attempt_at``) while the endpoint is
    #: disabled.
    PENDING = "pending"
    #: The endpoint answered 2xx.
    SUCCEEDED = "succeeded"
    #: Every attempt of the retry schedule failed; ``replay_failed`` queues it again.
    FAILED = "failed"
    #: The merchant removed the endpoint before it succeeded.
    ABANDONED = "abandoned"


class WebhookDelivery(Base):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        Index("ix_webhook_delivery_due", "status", "next_attempt_at"),
        Index("ix_webhook_delivery_merchant_status", "merchant_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Opaque id (``whk_…``) for the API and the command line.
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("event.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    #: The endpoint URL when the delivery was (re)queued; a changed endpoint updates pending ones.
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[DeliveryStatus] = mapped_column(enum_column(DeliveryStatus))
    #: Attempts ever made, across replays.
    attempt_count: Mapped[int] = mapped_column(Integer, default=0)
    #: Failed attempts since it was last queued: the position in the retry schedule.
    retry_step: Mapped[int] = mapped_column(Integer, default=0)
    #: Bumped on every (re)queue: how many rounds of the retry schedule it has been through.
    queue_round: Mapped[int] = mapped_column(Integer, default=0)
    #: When the next attempt is due; None once settled, or while parked.
    next_attempt_at: Mapped[datetime | None]
    #: Outcome of the latest attempt: HTTP status, or the error class when there was no answer.
    last_status: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]
    #: The worker process sending it now (``portal.webhooks.claims``), since when and until when
    #: its lease holds; a lease that ran out with the worker names an interrupted attempt.
    locked_by: Mapped[str | None] = mapped_column(String(80))
    locked_at: Mapped[datetime | None]
    locked_until: Mapped[datetime | None]

    event: Mapped[Event] = relationship()
    merchant: Mapped[Merchant] = relationship()
    attempts: Mapped[list[WebhookAttempt]] = relationship(
        back_populates="delivery", order_by="WebhookAttempt.id")


class WebhookAttempt(Base):
    """One POST, written with its outcome; a worker that died mid-request leaves its lease
    instead, which the next claim records as an ``Interrupted`` attempt."""

    __tablename__ = "webhook_attempt"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("webhook_delivery.id"), index=True)
    attempted_at: Mapped[datetime]
    #: The response's status; None when there was none.
    http_status: Mapped[int | None]
    #: Why there was no usable response: ``ConnectError``, ``ReadTimeout``, ``TotalTimeout``,
    #: ``BlockedAddress``, ``Interrupted`` … (None when the endpoint answered).
    error: Mapped[str | None] = mapped_column(String(80))
    latency_ms: Mapped[int | None]
    #: At most 500 characters of the response body, or the error message.
    response_excerpt: Mapped[str | None] = mapped_column(Text)
    #: The worker process that made the attempt (host:pid).
    sent_by: Mapped[str | None] = mapped_column(String(80))

    delivery: Mapped[WebhookDelivery] = relationship(back_populates="attempts")

    @property
    def finished(self) -> bool:
        return self.http_status is not None or self.error is not None
