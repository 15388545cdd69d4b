"""Events for merchants (the webhook outbox and the API event feed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class Event(Base):
    """Written in the same transaction as the change it reports (transactional outbox)."""

    __tablename__ = "event"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    #: Dotted type, e.g. ``mandate.active``, ``invitation.opened``.
    type: Mapped[str] = mapped_column(String(64))
    #: Public id of the object the event is about.
    subject: Mapped[str] = mapped_column(String(40), index=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
