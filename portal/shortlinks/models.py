"""A short, unguessable code standing for one invitation's signing link."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base
from portal.mandates.models import Invitation


class ShortLink(Base):
    __tablename__ = "short_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Random base62 code (``secrets``); the only thing in the URL.
    code: Mapped[str] = mapped_column(String(16), unique=True)
    #: One short link per invitation.
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id"), unique=True)
    created_at: Mapped[datetime]
    #: How often it was followed, and when last.
    open_count: Mapped[int] = mapped_column(Integer, default=0)
    last_opened_at: Mapped[datetime | None]

    invitation: Mapped[Invitation] = relationship()
