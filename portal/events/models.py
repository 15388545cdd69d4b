"""Events for merchants (the webhook outbox and the API event feed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, FetchedValue, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class Event(Base):
    """Written in the same transaction as the change it reports (transactional outbox)."""

    __tablename__ = "event"
    __table_args__ = (Index("ix_event_feed", "merchant_id", "txid", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    #: Dotted type, e.g. ``mandate.active``, ``invitation.opened``.
    type: Mapped[str] = mapped_column(String(64))
    #: Public id of the object the event is about.
    subject: Mapped[str] = mapped_column(String(40), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    #: The writing transaction's id on PostgreSQL (``pg_current_xact_id()``, set by the
    #: database: see migration 0008); 0 on SQLite, whose writers commit one at a time. The feed
    #: is ordered by (txid, id) and never shows a transaction that may still be open.
    txid: Mapped[int] = mapped_column(BigInteger, server_default=FetchedValue())
