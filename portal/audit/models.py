"""The append-only audit trail: each row carries the keyed hash of the one before it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.db import Base


class AuditEvent(Base):
    __tablename__ = "audit_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Position in the chain, 1, 2, 3… without gaps; unique so the chain cannot fork.
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime]
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"), index=True)
    #: Public id of what the event is about (``md_…``, ``inv_…``, ``mer_…``).
    subject: Mapped[str] = mapped_column(String(40), index=True)
    #: What happened, e.g. ``mandate.activate``.
    action: Mapped[str] = mapped_column(String(64))
    #: Who did it: ``customer``, ``system``, ``provider:sandbox``, ``merchant:cli_…``, ``staff:…``.
    actor: Mapped[str] = mapped_column(String(80))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    #: HMAC-SHA256 of the row (``portal.audit.service.row_body``) under the audit key
    #: ``key_id`` names; ``sha256``: a plain hash, on rows from before the chain was keyed.
    hash: Mapped[str] = mapped_column(String(64))
    key_id: Mapped[str] = mapped_column(String(16))


class AuditChainHead(Base):
    """One row holding the chain's last sequence number and hash; updating it serialises appends."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(String(64))
