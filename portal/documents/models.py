"""The sealed PDF of a mandate, as stored, and the evidence embedded in it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base
from portal.mandates.models import Mandate


class MandatePdf(Base):
    __tablename__ = "mandate_pdf"

    id: Mapped[int] = mapped_column(primary_key=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandate.id"), unique=True)
    #: Content address in the PDF store; the file's SHA-256 is checked on every read.
    sha256: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    #: The evidence record exactly as embedded (it names the unsealed document's SHA-256).
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime]
    #: When the certificate of the newest archive timestamp expires: `mandate retimestamp`
    #: renews before then. None for a PDF sealed before archive timestamps (PAdES-B-B).
    archive_renew_by: Mapped[datetime | None] = mapped_column(index=True)

    mandate: Mapped[Mandate] = relationship()
