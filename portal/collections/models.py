"""Direct-debit collections: per-merchant settings, debits and their attempts, the pain.008
batches they travel in, the return files that settle them, and flags on mandates and customers."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.crypto import encrypted
from portal.db import Base, enum_column
from portal.mandates.models import Customer, Mandate
from portal.merchants.models import Merchant


class Route(enum.StrEnum):
    """How a merchant collects: pain.008 files through its own bank, or the payment provider."""

    BANK = "bank"
    PROVIDER = "provider"


class PainVersion(enum.StrEnum):
    V02 = "pain.008.001.02"
    V08 = "pain.008.001.08"


class SeqType(enum.StrEnum):
    """The pain.008 sequence type of one collection."""

    FIRST = "FRST"
    RECURRING = "RCUR"
    ONE_OFF = "OOFF"
    FINAL = "FNAL"


class DebitStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    #: In an exported pain.008 file, or created as a provider payment.
    SUBMITTED = "submitted"
    COLLECTED = "collected"
    #: Refused before settlement (pain.002 RJCT, a failed provider payment).
    REJECTED = "rejected"
    #: Returned after settlement (camt.054 return with an R-code).
    RETURNED = "returned"
    #: The debtor claimed the money back (MD06) or the provider reported a chargeback.
    REFUNDED = "refunded"
    CANCELLED = "cancelled"


class FlagCode(enum.StrEnum):
    #: The debtor's account is closed (AC04): the mandate cannot be collected from.
    ACCOUNT_CLOSED = "AC04"
    #: The debtor's bank blocks this creditor (SL01): the customer is flagged.
    DEBTOR_BANK_SERVICE = "SL01"
    #: The debtor account changed and the new account is not confirmed yet.
    AMENDMENT_PENDING = "amendment_pending"


class CollectionSettings(Base):
    """How one merchant collects; a merchant without a row uses the portal's defaults."""

    __tablename__ = "collection_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), unique=True)
    route: Mapped[Route] = mapped_column(enum_column(Route), default=Route.BANK)
    pain_version: Mapped[PainVersion] = mapped_column(enum_column(PainVersion),
                                                      default=PainVersion.V02)
    #: The account the collections are credited to (bank route) and its bank.
    creditor_iban: Mapped[str | None] = mapped_column(String(34))
    creditor_bic: Mapped[str | None] = mapped_column(String(11))
    #: Business days the merchant needs before the D-1 submission (its bank's own lead time).
    lead_days: Mapped[int] = mapped_column(Integer, default=0)
    #: Calendar days between the pre-notification and the collection (14 unless agreed).
    prenotification_days: Mapped[int] = mapped_column(Integer, default=14)
    #: Days after a temporary failure before the 2nd and the 3rd attempt.
    retry_delays_days: Mapped[list[int]] = mapped_column(JSON, default=lambda: [5, 10])
    #: The highest amount one B2B collection may have; None: no limit.
    b2b_max_amount_cents: Mapped[int | None] = mapped_column(Integer)
    #: After AC04 (account closed), invite the debtor to sign again with a new account.
    amendment_invitations: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime]

    merchant: Mapped[Merchant] = relationship()


class Batch(Base):
    """One exported pain.008 file: one creditor account and scheme, one PmtInf per sequence type
    and collection date. Written once; its bytes never change (``file_sha256``)."""

    __tablename__ = "collection_batch"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    #: GrpHdr/MsgId (≤ 35), unique across the portal.
    message_id: Mapped[str] = mapped_column(String(35), unique=True)
    pain_version: Mapped[PainVersion] = mapped_column(enum_column(PainVersion))
    scheme: Mapped[str] = mapped_column(String(4))
    creditor_iban: Mapped[str] = mapped_column(String(34))
    creditor_bic: Mapped[str | None] = mapped_column(String(11))
    transaction_count: Mapped[int] = mapped_column(Integer)
    control_sum_cents: Mapped[int] = mapped_column(Integer)
    #: The PmtInf blocks: [{"id", "sequence_type", "collection_date", "count", "sum_cents"}].
    payment_groups: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    first_collection_date: Mapped[date] = mapped_column(Date)
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(Integer)
    #: Which bank route took the file (``manual``: the merchant uploads it; ``sandbox``).
    delivered_to: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime]


class Debit(Base):
    """An amount to collect from an active mandate, for an invoice or a payment request; its
    status changes only through :mod:`portal.collections.lifecycle`."""

    __tablename__ = "debit"
    __table_args__ = (Index("ix_debit_due", "status", "collection_date"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandate.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    route: Mapped[Route] = mapped_column(enum_column(Route))
    scheme: Mapped[str] = mapped_column(String(4))
    status: Mapped[DebitStatus] = mapped_column(enum_column(DebitStatus))
    #: What is still to collect (a payment before export lowers it) and what was asked.
    amount_cents: Mapped[int] = mapped_column(Integer)
    original_amount_cents: Mapped[int] = mapped_column(Integer)
    #: Remittance information shown on the debtor's statement (≤ 140 SEPA characters).
    description: Mapped[str] = mapped_column(String(140))
    #: The merchant's invoice number, and the checkout payment request this debit collects.
    invoice_number: Mapped[str | None] = mapped_column(String(35))
    payment_request: Mapped[str | None] = mapped_column(String(40), index=True)
    #: The merchant asked for FNAL: the last collection on this mandate.
    final: Mapped[bool] = mapped_column(Boolean, default=False)
    #: The date the merchant asked for (None: as early as allowed) and the one planned.
    requested_date: Mapped[date | None] = mapped_column(Date)
    collection_date: Mapped[date] = mapped_column(Date)
    #: Sequence type of the current attempt (decided again from history at export).
    sequence_type: Mapped[SeqType] = mapped_column(enum_column(SeqType))
    #: 1 for the first attempt; retries count up to 3.
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    #: The last failure's bank reason code (AM04, AC04, …) and text, and whether it retries.
    reason_code: Mapped[str | None] = mapped_column(String(8))
    reason_text: Mapped[str | None] = mapped_column(String(300))
    will_retry: Mapped[bool] = mapped_column(Boolean, default=False)
    prenotified_at: Mapped[datetime | None]
    #: After the last failure: where the customer can pay the open amount.
    pay_link: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012

    merchant: Mapped[Merchant] = relationship()
    mandate: Mapped[Mandate] = relationship()
    customer: Mapped[Customer] = relationship()
    attempts: Mapped[list[DebitAttempt]] = relationship(
        back_populates="debit", order_by="DebitAttempt.number")


ORIGINAL_IBAN_CONTEXT = "debit_attempt.original_iban"


class DebitAttempt(Base):
    """One presentation of a debit to the bank or provider, as it was sent; returns are matched
    on its EndToEndId. It keeps the account and reference used, so the next attempt can tell
    whether the mandate was amended since."""

    __tablename__ = "debit_attempt"
    __table_args__ = (UniqueConstraint("debit_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    debit_id: Mapped[int] = mapped_column(ForeignKey("debit.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandate.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    batch_id: Mapped[int | None] = mapped_column(ForeignKey("collection_batch.id"), index=True)
    #: The provider's payment (route 2), e.g. Mollie's ``tr_…``.
    provider: Mapped[str | None] = mapped_column(String(20))
    provider_payment_id: Mapped[str | None] = mapped_column(String(64), index=True)
    sequence_type: Mapped[SeqType] = mapped_column(enum_column(SeqType))
    collection_date: Mapped[date] = mapped_column(Date)
    amount_cents: Mapped[int] = mapped_column(Integer)
    #: The debtor account and mandate as presented (IBAN encrypted, its keyed hash, the BIC):
    #: the mandate's ciphertext copied, so under the same associated data.
    debtor_iban_ciphertext: Mapped[str | None] = mapped_column(
        Text, info=encrypted("mandate.iban", lookup_hash="debtor_iban_hash"))
    debtor_iban_hash: Mapped[str | None] = mapped_column(String(64))
    debtor_bic: Mapped[str | None] = mapped_column(String(11))
    mandate_reference: Mapped[str] = mapped_column(String(35))
    creditor_id: Mapped[str] = mapped_column(String(35))
    #: Amendment details written into MndtRltdInf, if any (``{"smnda": true}``, …); the
    #: original account of an amendment at the same bank is kept encrypted beside them.
    amendment: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    original_iban_ciphertext: Mapped[str | None] = mapped_column(
        Text, info=encrypted(ORIGINAL_IBAN_CONTEXT))
    #: What the bank or provider said: collected, rejected, returned, refunded; and why.
    outcome: Mapped[DebitStatus | None] = mapped_column(enum_column(DebitStatus))
    reason_code: Mapped[str | None] = mapped_column(String(8))
    reason_text: Mapped[str | None] = mapped_column(String(300))
    settled_at: Mapped[datetime | None]
    created_at: Mapped[datetime]

    debit: Mapped[Debit] = relationship(back_populates="attempts")
    batch: Mapped[Batch | None] = relationship()


class ReturnFormat(enum.StrEnum):
    PAIN002 = "pain.002"
    CAMT054 = "camt.054"
    CSV = "csv"


class ReturnImport(Base):
    """A bank report applied to the debits it names; the same file again changes nothing."""

    __tablename__ = "return_import"
    __table_args__ = (UniqueConstraint("merchant_id", "file_sha256"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    format: Mapped[ReturnFormat] = mapped_column(enum_column(ReturnFormat))
    file_sha256: Mapped[str] = mapped_column(String(64))
    file_size: Mapped[int] = mapped_column(Integer)
    #: The report's own message id, when it has one.
    message_id: Mapped[str | None] = mapped_column(String(35))
    #: Who brought it: ``api``, ``cli``, ``sandbox-bank``.
    source: Mapped[str] = mapped_column(String(20))
    #: Lines by what they did: {"collected": n, "rejected": n, "returned": n, "refunded": n,
    #: "accepted": n, "unchanged": n}.
    counts: Mapped[dict[str, int]] = mapped_column(JSON)
    created_at: Mapped[datetime]


class CollectionFlag(Base):
    """A fact that stops or warns about collections: a closed account on a mandate, a debtor
    bank that blocks the creditor, an account change waiting for confirmation."""

    __tablename__ = "collection_flag"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    mandate_id: Mapped[int | None] = mapped_column(ForeignKey("mandate.id"), index=True)
    code: Mapped[FlagCode] = mapped_column(enum_column(FlagCode))
    reason: Mapped[str | None] = mapped_column(String(300))
    #: The debit whose failure raised it, and the invitation sent to replace the mandate.
    debit_id: Mapped[int | None] = mapped_column(ForeignKey("debit.id"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id"))
    created_at: Mapped[datetime]
    cleared_at: Mapped[datetime | None]


class SandboxBankEntry(Base):
    """A collection the sandbox bank cleared, and how: its own memory of each mandate's history
    (so an account can fail the first time and pay the second)."""

    __tablename__ = "sandbox_bank_entry"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("collection_batch.id"), index=True)
    end_to_end_id: Mapped[str] = mapped_column(String(35), unique=True)
    mandate_reference: Mapped[str] = mapped_column(String(35), index=True)
    #: None once paid; else the return reason code.
    reason_code: Mapped[str | None] = mapped_column(String(8))
    cleared_on: Mapped[date] = mapped_column(Date)


class SandboxBankFile(Base):
    """A pain.008 file handed to the sandbox bank; each PmtInf is cleared on its date."""

    __tablename__ = "sandbox_bank_file"

    id: Mapped[int] = mapped_column(primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("collection_batch.id"), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    received_at: Mapped[datetime]
    #: When its last collection date was cleared.
    cleared_at: Mapped[datetime | None]

    batch: Mapped[Batch] = relationship()


__all__ = [
    "Batch", "CollectionFlag", "CollectionSettings", "Debit", "DebitAttempt", "DebitStatus",
    "FlagCode", "PainVersion", "ReturnFormat", "ReturnImport", "Route", "SandboxBankEntry",
    "SandboxBankFile", "SeqType",
]
