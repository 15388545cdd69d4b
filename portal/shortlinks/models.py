"""A short, unguessable code standing for one invitation's signing link or one payment
request's checkout page."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base
from portal.mandates.models import Invitation

if TYPE_CHECKING:
    from portal.payments.models import PaymentRequest


class ShortLink(Base):
    __tablename__ = "short_link"
    __table_args__ = (CheckConstraint(
        "(invitation_id IS NULL) <> (payment_request_id IS NULL)", name="one_target"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random base62 code (``secrets``); the only thing in the URL.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    #: One short link per invitation, or per payment request.
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"), unique=True)
    payment_request_id: Mapped[int | None] = mapped_column(ForeignKey("payment_request.id"),
                                                           unique=True)
    created_at: Mapped[datetime]
    #: How often it was followed, and when last.
    open_count: Mapped[int] = mapped_column(Integer, default=0)
    last_opened_at: Mapped[datetime | None]

    invitation: Mapped[Invitation | None] = relationship()
    payment_request: Mapped[PaymentRequest | None] = relationship()
