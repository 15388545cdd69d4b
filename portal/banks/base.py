"""The bank interface: what signing a mandate at the debtor's own bank (eMandates) needs from an
acquirer. Plain data in and out; nothing here imports Flask or a database."""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol, runtime_checkable

__all__ = [
    "MAX_EXPIRATION",
    "AcceptanceReport",
    "AmendmentRequest",
    "Bank",
    "BankError",
    "BankRefused",
    "BankResponseRefused",
    "BankUnavailable",
    "CancellationRequest",
    "DebtorBank",
    "Directory",
    "MandateRequest",
    "Product",
    "StatusReport",
    "TransactionStarted",
    "TransactionStatus",
]

#: The longest a debtor may take at their bank (iDx ``expirationPeriod``).
MAX_EXPIRATION = timedelta(days=7)


class Product(enum.StrEnum):
    """The eMandates product, named in every iDx message's ``productID``."""

    CORE = "NL:BVN:eMandatesCore:1.0"
    B2B = "NL:BVN:eMandatesB2B:1.0"

    @classmethod
    def for_scheme(cls, scheme: str) -> Product:
        return cls.B2B if scheme == "B2B" else cls.CORE

    @property
    def local_instrument(self) -> str:
        return "B2B" if self is Product.B2B else "CORE"


class TransactionStatus(enum.StrEnum):
    """An iDx transaction's status, spelled as the acquirer spells it."""

    OPEN = "Open"
    PENDING = "Pending"
    SUCCESS = "Success"
    FAILURE = "Failure"
    EXPIRED = "Expired"
    CANCELLED = "Cancelled"

    @property
    def is_final(self) -> bool:
        return self not in (TransactionStatus.OPEN, TransactionStatus.PENDING)


@dataclass(frozen=True)
class DebtorBank:
    """A bank the debtor can choose: its BIC (the iDx issuer id), its name and country."""

    bic: str
    name: str
    country: str


@dataclass(frozen=True)
class Directory:
    """The debtor banks of one product, as the acquirer listed them."""

    product: Product
    banks: tuple[DebtorBank, ...]
    #: When the acquirer last changed its list.
    directory_at: datetime

    def find(self, bic: str | None) -> DebtorBank | None:
        """The bank with this BIC; an 8-character BIC matches its 11-character branch too."""
        if not bic:
            return None
        bic = bic.upper()
        for bank in self.banks:
            if bank.bic == bic or bank.bic[:8] == bic[:8]:
                return bank
        return None


@dataclass(frozen=True)
class MandateRequest:
    """A new mandate (pain.009) for the debtor to sign at ``debtor_bic``."""

    product: Product
    debtor_bic: str
    mandate_reference: str
    #: The eMandate reason the debtor sees (≤ 70), e.g. "Membership Demo Sportclub".
    reason: str
    #: Who the debtor is to the creditor (≤ 35), e.g. a customer number.
    debtor_reference: str | None
    #: Which order or contract this is for (≤ 35).
    purchase_id: str | None
    #: "RCUR" or "OOFF".
    sequence_type: str
    #: B2B only, optional: the most one collection may take, in euro cents.
    max_amount_cents: int | None
    language: str
    entrance_code: str
    return_url: str
    expiration: timedelta
    message_id: str


@dataclass(frozen=True)
class AmendmentRequest:
    """A changed account for an existing mandate (pain.010), signed at the new bank."""

    product: Product
    debtor_bic: str
    mandate_reference: str
    reason: str
    debtor_reference: str | None
    purchase_id: str | None
    sequence_type: str
    original_iban: str
    original_debtor_bic: str
    language: str
    entrance_code: str
    return_url: str
    expiration: timedelta
    message_id: str


@dataclass(frozen=True)
class CancellationRequest:
    """The end of a B2B mandate (pain.011), confirmed by the debtor at their bank."""

    product: Product
    debtor_bic: str
    mandate_reference: str
    reason: str
    debtor_reference: str | None
    purchase_id: str | None
    sequence_type: str
    iban: str
    max_amount_cents: int | None
    language: str
    entrance_code: str
    return_url: str
    expiration: timedelta
    message_id: str


@dataclass(frozen=True)
class TransactionStarted:
    """The acquirer's answer to a transaction request: where to send the debtor."""

    transaction_id: str
    authentication_url: str
    created_at: datetime


@dataclass(frozen=True)
class AcceptanceReport:
    """The debtor bank's pain.012, read only from what its signature covers."""

    message_id: str
    created_at: datetime
    #: The bank's reference of this signing; later collections may need to carry it.
    validation_reference: str | None
    original_message_id: str | None
    #: Which request it answers: ``pain.009``, ``pain.010`` or ``pain.011``.
    message_name_id: str | None
    accepted: bool
    reject_reason: str | None
    mandate_reference: str
    local_instrument: str | None
    sequence_type: str | None
    max_amount_cents: int | None
    reason: str | None
    creditor_id: str | None
    creditor_name: str | None
    creditor_trade_name: str | None
    debtor_name: str | None
    debtor_reference: str | None
    debtor_iban: str | None
    debtor_bic: str | None
    signer_name: str | None
    #: The pain.012 Document as the bank signed it (UTF-8 XML), kept as evidence.
    document: bytes
    #: SHA-1 fingerprint of the certificate that signed it; None for an unsigned rejection.
    bank_certificate: str | None


@dataclass(frozen=True)
class StatusReport:
    """A transaction's status; on Success with the bank's acceptance report."""

    transaction_id: str
    status: TransactionStatus
    status_at: datetime | None
    report: AcceptanceReport | None = None
    #: The whole status response as received and verified (the acquirer's signed message).
    message: bytes = field(default=b"", repr=False)


class BankError(Exception):
    """The acquirer answered with an error, or could not be reached; ``consumer_message`` is
    meant for the debtor, the rest for the logs."""

    retryable: bool = False

    def __init__(self, message: str, *, code: str | None = None, detail: str | None = None,
                 suggested_action: str | None = None, consumer_message: str | None = None):
        super().__init__(message)
        self.code = code
        self.detail = detail
        self.suggested_action = suggested_action
        self.consumer_message = consumer_message


class BankUnavailable(BankError):
    """Network failure, timeout, HTTP 5xx or an ``SO`` error (system down, busy, maintenance):
    try again later."""

    retryable = True


class BankRefused(BankError):
    """The acquirer refused our request (invalid message, field, contract or signature)."""


class BankResponseRefused(BankError):
    """We refused the acquirer's answer: not XML we accept, invalid, or not signed by a
    certificate we trust. Nothing it says is used."""


@runtime_checkable
class Bank(Protocol):
    """An acquirer that lets debtors sign mandates at their own bank; chosen by config."""

    name: str

    def directory(self, product: Product) -> Directory:
        """The debtor banks for this product (callers cache it: at most daily)."""
        ...

    def new_mandate(self, request: MandateRequest) -> TransactionStarted:
        """Send a pain.009; the debtor then signs at ``authentication_url``."""
        ...

    def amend_mandate(self, request: AmendmentRequest) -> TransactionStarted:
        """Send a pain.010 (a new account, possibly at another bank)."""
        ...

    def cancel_mandate(self, request: CancellationRequest) -> TransactionStarted:
        """Send a pain.011 (B2B only)."""
        ...

    def status(self, product: Product, transaction_id: str) -> StatusReport:
        """Ask where a transaction stands; BankResponseRefused for an answer we cannot trust."""
        ...
