"""Payments held by the built-in sandbox provider (a stand-in for an iDEAL acquirer)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base, enum_column
from portal.providers.base import PaymentStatus


class SandboxPayment(Base):
    __tablename__ = "sandbox_payment"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The id the sandbox gives out (``tr_sbx…``), like a real provider's.
    payment_id: Mapped[str] = mapped_column(String(40), unique=True)
    amount_cents: Mapped[int] = mapped_column(Integer)
    currency: Mapped[str] = mapped_column(String(3))
    description: Mapped[str] = mapped_column(String(140))
    redirect_url: Mapped[str] = mapped_column(Text)
    webhook_url: Mapped[str | None] = mapped_column(Text)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON)
    customer_name: Mapped[str] = mapped_column(String(140))
    locale: Mapped[str] = mapped_column(String(5))
    status: Mapped[PaymentStatus] = mapped_column(enum_column(PaymentStatus))
    issuer: Mapped[str | None] = mapped_column(String(40))
    payer_name: Mapped[str | None] = mapped_column(String(140))
    payer_iban: Mapped[str | None] = mapped_column(String(34))
    payer_bic: Mapped[str | None] = mapped_column(String(11))
    mandate_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
