"""One transaction at the debtor's bank for a mandate: new (pain.009), amendment (pain.010) or
cancellation (pain.011), with every status seen and the bank's acceptance report."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import encrypted
from portal.db import Base
from portal.mandates.models import Invitation, Mandate

#: Associated data of the encrypted pain.012 (it names the debtor's IBAN).
REPORT_CONTEXT = "bank_transaction.report"


class BankRequestKind(enum.StrEnum):
    NEW = "new"
    AMEND = "amend"
    CANCEL = "cancel"


class BankOutcome(enum.StrEnum):
    """What a transaction came to, as the merchant sees it (``bank_outcome`` in the API)."""

    #: Started; the debtor has not finished at their bank.
    OPEN = "open"
    #: The debtor finished; the bank is still processing (e.g. a second signer).
    PENDING = "pending"
    #: An accepted, matching pain.012: the mandate changed.
    ACCEPTED = "accepted"
    #: The signer may not sign for the company (a rejected pain.012).
    NOT_AUTHORISED = "not_authorised"
    #: The bank rejected the mandate for another reason (a rejected pain.012).
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"
    #: The acquirer refused to start it (its error and the message for the debtor are kept).
    ERROR = "error"
    #: Success was reported, but the pain.012 did not match this mandate: nothing changed.
    REFUSED = "refused"

    @property
    def is_final(self) -> bool:
        return self not in (BankOutcome.OPEN, BankOutcome.PENDING)


class BankTransaction(Base):
    __tablename__ = "bank_transaction"
    __table_args__ = (UniqueConstraint("bank", "transaction_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandate.id"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"))
    #: The adapter (``sandbox``, ``emandates``), product id and kind of request.
    bank: Mapped[str] = mapped_column(String(20))
    product: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(10))
    #: The debtor's bank (BIC) chosen for this transaction.
    debtor_bic: Mapped[str] = mapped_column(String(11))
    message_id: Mapped[str] = mapped_column(String(35))
    entrance_code: Mapped[str] = mapped_column(String(40))
    #: The acquirer's id and where the debtor signs; None until the acquirer answered.
    transaction_id: Mapped[str | None] = mapped_column(String(16))
    authentication_url: Mapped[str | None] = mapped_column(Text)
    #: The last iDx status (Open, Pending, Success, …) and our reading of it.
    status: Mapped[str | None] = mapped_column(String(10))
    outcome: Mapped[str] = mapped_column(String(20), index=True)
    #: Why it failed or was refused (error code, reject reason, mismatch) and the acquirer's
    #: message for the debtor.
    reason: Mapped[str | None] = mapped_column(String(300))
    consumer_message: Mapped[str | None] = mapped_column(String(512))
    #: From the accepted pain.012: the bank's validation reference, and the document as signed,
    #: encrypted as a whole (it holds the debtor's IBAN): :mod:`portal.emandates.reports`.
    validation_reference: Mapped[str | None] = mapped_column(String(128))
    report_ciphertext: Mapped[str | None] = mapped_column(Text, info=encrypted(REPORT_CONTEXT))
    #: Every status seen: ``[{"status", "at", "source"}]`` (source: return, poll, status page).
    status_history: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    last_checked_at: Mapped[datetime | None]

    mandate: Mapped[Mandate] = relationship()
    invitation: Mapped[Invitation | None] = relationship()
