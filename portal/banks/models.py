"""The cached directory of debtor banks, per bank adapter and product."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class BankDirectory(Base):
    __tablename__ = "bank_directory"
    __table_args__ = (UniqueConstraint("bank", "product"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The adapter (``sandbox``, ``emandates``) and the eMandates product id.
    bank: Mapped[str] = mapped_column(String(20))
    product: Mapped[str] = mapped_column(String(40))
    #: ``[{"bic", "name", "country"}, …]`` in the acquirer's order.
    banks: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    #: When the acquirer last changed its list, and when we fetched it.
    directory_at: Mapped[datetime]
    fetched_at: Mapped[datetime]
