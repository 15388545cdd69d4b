"""The one-cent payment that proves a Core mandate's account."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base, enum_column
from portal.mandates.models import Mandate
from portal.providers.base import PaymentStatus


class VerificationPayment(Base):
    __tablename__ = "verification_payment"
    __table_args__ = (UniqueConstraint("provider", "provider_payment_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandate.id"), index=True)
    #: Which provider took it (``sandbox``, ``mollie``) and its id there.
    provider: Mapped[str] = mapped_column(String(20))
    provider_payment_id: Mapped[str | None] = mapped_column(String(64))
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus))
    checkout_url: Mapped[str | None] = mapped_column(Text)
    #: Payer as the bank reported it; the IBAN only masked here, in clear on the mandate.
    payer_name: Mapped[str | None] = mapped_column(String(140))
    payer_iban_masked: Mapped[str | None] = mapped_column(String(42))
    payer_bic: Mapped[str | None] = mapped_column(String(11))
    provider_mandate_id: Mapped[str | None] = mapped_column(String(64))
    #: Every status seen, with when and from where (``return``, ``webhook``, ``create``).
    status_history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    mandate: Mapped[Mandate] = relationship()
