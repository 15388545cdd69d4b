"""The payment-provider interface: what any provider (Mollie, the sandbox) must offer the portal.

One-off payments by iDEAL, card, Bancontact or PayPal; first payments that leave a provider
mandate (SEPA) or a card token behind; recurring charges on such a mandate without the
customer; refunds, full or partial; chargebacks; the methods the merchant has enabled.
Adapters live beside this module; nothing here imports Flask or a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = [
    "METHODS",
    "SUPPORTED_CURRENCY",
    "MandateState",
    "PaymentNotFound",
    "PaymentOrder",
    "PaymentProvider",
    "PaymentRequest",
    "PaymentStatus",
    "ProviderChargeback",
    "ProviderError",
    "ProviderMandate",
    "ProviderMethod",
    "ProviderPayment",
    "ProviderRefund",
    "ProviderUnavailable",
    "RefundState",
    "Sequence",
    "Settlement",
    "SettlementItem",
    "SettlementLine",
    "SettlementsUnavailable",
]

#: The only currency SEPA direct debit and iDEAL settle in.
SUPPORTED_CURRENCY = "EUR"


class PaymentStatus(StrEnum):
    """A payment's state as the portal sees it, whatever the provider calls it."""

    OPEN = "open"
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    CANCELED = "canceled"
    EXPIRED = "expired"

    @property
    def is_final(self) -> bool:
        """True once the provider will not change the status again."""
        return self in _FINAL_STATUSES

    @property
    def is_success(self) -> bool:
        """True only when the money (and with it the payer's account proof) arrived."""
        return self is PaymentStatus.PAID


_FINAL_STATUSES = frozenset(
    {PaymentStatus.PAID, PaymentStatus.FAILED, PaymentStatus.CANCELED, PaymentStatus.EXPIRED}
)


class Sequence(StrEnum):
    """Mollie's ``sequenceType``: a payment on its own, the first of a series (leaves a
    mandate or card token behind), or a later one charged on that mandate without the payer."""

    ONEOFF = "oneoff"
    FIRST = "first"
    RECURRING = "recurring"


#: Payment methods the portal knows, by Mollie's names.
METHODS = ("ideal", "creditcard", "bancontact", "paypal", "directdebit")
#: Methods whose first payment leaves a SEPA direct-debit mandate behind (the paying account).
SEPA_FIRST_METHODS = frozenset({"ideal", "bancontact"})


@dataclass(frozen=True)
class PaymentOrder:
    """What the portal asks a provider to collect; amounts in integer euro cents."""

    amount_cents: int
    currency: str
    description: str
    redirect_url: str
    webhook_url: str | None
    metadata: Mapping[str, str]
    customer_name: str
    customer_email: str | None
    locale: str
    #: ``first`` (the default) sets up a recurring mandate at the provider; ``recurring``
    #: charges ``provider_mandate_id`` of ``provider_customer_id`` without the customer.
    sequence: Sequence = Sequence.FIRST
    #: ``ideal`` unless told otherwise; None lets the provider's page offer its methods.
    method: str | None = "ideal"
    provider_customer_id: str | None = None
    provider_mandate_id: str | None = None
    #: Sent as the provider's idempotency key, so a retried create makes one payment.
    idempotency_key: str | None = None

    @property
    def sequence_first(self) -> bool:
        return self.sequence is Sequence.FIRST

    def __post_init__(self) -> None:
        if isinstance(self.amount_cents, bool) or not isinstance(self.amount_cents, int):
            raise TypeError("amount_cents must be an int")
        if self.amount_cents <= 0:
            raise ValueError("amount_cents must be positive")
        if self.currency != SUPPORTED_CURRENCY:
            raise ValueError(f"only {SUPPORTED_CURRENCY} is supported, not {self.currency!r}")
        if self.method is not None and self.method not in METHODS:
            raise ValueError(f"unknown payment method {self.method!r}")
        if self.sequence is Sequence.RECURRING and not (
                self.provider_customer_id and self.provider_mandate_id):
            raise ValueError("a recurring charge needs the provider's customer and mandate")


#: The name the interface had before it took more than first payments.
PaymentRequest = PaymentOrder


@dataclass(frozen=True)
class ProviderPayment:
    """A provider's payment as last fetched; payer fields stay None until the bank reports them."""

    id: str
    status: PaymentStatus
    amount_cents: int
    currency: str
    #: Where to send the payer; None once the payment is no longer payable.
    checkout_url: str | None
    payer_name: str | None
    payer_iban: str | None
    payer_bic: str | None
    #: The recurring mandate the provider created from this first payment, if any.
    provider_mandate_id: str | None
    provider_customer_id: str | None
    metadata: Mapping[str, str]
    method: str | None = None
    sequence: Sequence = Sequence.ONEOFF
    #: Money returned so far: refunds (succeeded) and chargebacks, in cents.
    refunded_cents: int = 0
    charged_back_cents: int = 0
    #: Why a payment failed, as the provider says it (e.g. a bank reason code, a card refusal).
    failure_reason: str | None = None


class MandateState(StrEnum):
    VALID = "valid"
    PENDING = "pending"
    INVALID = "invalid"


@dataclass(frozen=True)
class ProviderMandate:
    """A mandate the provider holds for recurring charges: SEPA (``directdebit``, the paying
    account) or a card token (``creditcard``; never the card number, only its last digits)."""

    id: str
    customer_id: str
    status: MandateState
    method: str
    consumer_name: str | None = None
    consumer_iban: str | None = None
    consumer_bic: str | None = None
    card_holder: str | None = None
    card_last4: str | None = None
    card_label: str | None = None
    #: Last day the card can be charged, ISO date (``2030-12-31``).
    card_expiry: str | None = None


class RefundState(StrEnum):
    PENDING = "pending"
    SUCCEEDED = "succeeded"
    FAILED = "failed"


@dataclass(frozen=True)
class ProviderRefund:
    id: str
    payment_id: str
    amount_cents: int
    status: RefundState
    #: Mollie's own word for it (queued, pending, processing, refunded, failed, canceled).
    raw_status: str


@dataclass(frozen=True)
class ProviderChargeback:
    id: str
    payment_id: str
    amount_cents: int
    reason_code: str | None
    reason: str | None
    reversed: bool


@dataclass(frozen=True)
class ProviderMethod:
    id: str
    description: str
    minimum_cents: int | None = None
    maximum_cents: int | None = None


class SettlementLineKind(StrEnum):
    REVENUE = "revenue"
    COST = "cost"


@dataclass(frozen=True)
class SettlementLine:
    """One line of a settlement's report: money in per method (negative for refunds and
    chargebacks), or the provider's fees per method, as exact as the provider states them
    (Mollie reports to 1/100 of a cent)."""

    kind: SettlementLineKind
    description: str
    method: str | None
    count: int
    #: Gross, in euros, signed.
    amount: Decimal
    #: The fee per item: a fixed part in euros and a percentage of the amount.
    rate_fixed: Decimal | None = None
    rate_percentage: Decimal | None = None


@dataclass(frozen=True)
class Settlement:
    """A payout of the provider's balance to the merchant's bank account (Mollie ``stl_…``)."""

    id: str
    reference: str | None
    #: ``open``, ``pending``, ``paidout`` or ``failed``.
    status: str
    settled_at: datetime | None
    #: What was (or will be) paid out, in cents; negative when fees exceeded the revenue.
    amount_cents: int
    lines: tuple[SettlementLine, ...]


@dataclass(frozen=True)
class SettlementItem:
    """A payment, refund or chargeback that a settlement includes."""

    #: ``payment``, ``refund`` or ``chargeback``.
    kind: str
    #: The item's own id (``tr_…``, ``re_…``, ``chb_…``) and the payment it belongs to.
    id: str
    payment_id: str
    amount_cents: int
    method: str | None = None


class ProviderError(Exception):
    """The provider refused or failed a call; `retryable` says whether trying later may help."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, retryable: bool | None = None,
                 field: str | None = None):
        super().__init__(message)
        self.status = status
        #: The request field the provider objected to (Mollie's ``field``), if it said.
        self.field = field
        if retryable is not None:
            self.retryable = retryable


class ProviderUnavailable(ProviderError):
    """Network failure, timeout, rate limit or provider-side 5xx: try again later."""

    retryable = True


class PaymentNotFound(ProviderError):
    """The provider does not know this payment (wrong id, or the other test/live mode)."""

    def __init__(self, message: str, *, status: int | None = 404):
        super().__init__(message, status=status, retryable=False)


class SettlementsUnavailable(ProviderError):
    """The provider does not report settlements to this installation (e.g. Mollie without an
    organization access token): bookkeeping then shows no fees or payouts."""


@runtime_checkable
class PaymentProvider(Protocol):
    """A service that takes payments for the portal; chosen by config, never by test flags."""

    name: str

    def create_payment(self, request: PaymentOrder) -> ProviderPayment:
        """Create the payment (and, for a first one, the provider's customer) and return it; a
        recurring one is charged on the stored mandate without the customer."""
        ...

    def get_payment(self, payment_id: str) -> ProviderPayment:
        """Fetch the payment's current state; raises PaymentNotFound for unknown ids."""
        ...

    def parse_webhook(self, form: Mapping[str, str], body: bytes) -> str:
        """Return the payment id a webhook call names; raises ProviderError when malformed.

        Webhook calls are unauthenticated, so callers must fetch the payment with
        get_payment() and trust only what that returns.
        """
        ...

    def get_mandate(self, customer_id: str, mandate_id: str) -> ProviderMandate:
        """The mandate or card token a first payment left behind."""
        ...

    def create_refund(self, payment_id: str, amount_cents: int, *, description: str,
                      idempotency_key: str | None = None) -> ProviderRefund:
        """Return ``amount_cents`` of a paid payment to the payer (all or part of it)."""
        ...

    def list_refunds(self, payment_id: str) -> list[ProviderRefund]:
        """Every refund of the payment, with its current status."""
        ...

    def list_chargebacks(self, payment_id: str) -> list[ProviderChargeback]:
        """Every chargeback the payer's bank or card issuer made on the payment."""
        ...

    def enabled_methods(self, sequence: Sequence = Sequence.ONEOFF,
                        amount_cents: int | None = None) -> list[ProviderMethod]:
        """The methods the merchant has enabled that can take such a payment."""
        ...

    def list_settlements(self, limit: int = 50) -> list[Settlement]:
        """The newest settlements, newest first; SettlementsUnavailable if not reported."""
        ...

    def list_settlement_items(self, settlement_id: str) -> list[SettlementItem]:
        """Every payment, refund and chargeback the settlement includes."""
        ...
