"""The payment provider's settlements (Mollie's ``stl_…``): what it paid out and kept as fees,
and each merchant's share of them, so bookkeeping can show fees and payouts per merchant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.db import Base


class ProviderSettlement(Base):
    """One payout from the provider's balance to the bank account, as the provider reports it
    (the provider account is the installation's, so one settlement may serve many merchants)."""

    __tablename__ = "provider_settlement"
    __table_args__ = (UniqueConstraint("provider", "settlement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(20))
    #: The provider's id (``stl_…``) and the reference on the bank statement.
    settlement_id: Mapped[str] = mapped_column(String(64))
    reference: Mapped[str | None] = mapped_column(String(64))
    #: ``open``, ``pending``, ``paidout`` or ``failed``.
    status: Mapped[str] = mapped_column(String(20))
    settled_at: Mapped[datetime | None]
    #: Paid out, and what came in before the provider's fees (so revenue − fees = payout).
    amount_cents: Mapped[int] = mapped_column(Integer)
    revenue_cents: Mapped[int] = mapped_column(Integer)
    fees_cents: Mapped[int] = mapped_column(Integer)
    #: The provider's lines: [{"kind": "revenue"|"cost", "description", "method", "count",
    #: "amount": "12.3400"}] (amounts exact, as reported).
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    imported_at: Mapped[datetime]
    updated_at: Mapped[datetime]

    shares: Mapped[list[SettlementShare]] = relationship(back_populates="settlement",
                                                         order_by="SettlementShare.id")


class SettlementShare(Base):
    """A merchant's part of a settlement: its payments, refunds and chargebacks in it, the fees
    they cost (the settlement's fees shared by each item's rate, to the cent), and the rest."""

    __tablename__ = "settlement_share"
    __table_args__ = (UniqueConstraint("settlement_id", "merchant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    settlement_id: Mapped[int] = mapped_column(ForeignKey("provider_settlement.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    items: Mapped[int] = mapped_column(Integer)
    payments_cents: Mapped[int] = mapped_column(Integer)
    refunds_cents: Mapped[int] = mapped_column(Integer)
    chargebacks_cents: Mapped[int] = mapped_column(Integer)
    fees_cents: Mapped[int] = mapped_column(Integer)
    payout_cents: Mapped[int] = mapped_column(Integer)

    settlement: Mapped[ProviderSettlement] = relationship(back_populates="shares")


__all__ = ["ProviderSettlement", "SettlementShare"]
