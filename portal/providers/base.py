"""The payment-provider interface: what any iDEAL first-payment provider must offer the portal.

A provider takes a small first payment that proves the payer controls the account and, where the
provider supports it, leaves a recurring SEPA mandate behind. Adapters (Mollie, the sandbox) live
beside this module; nothing here imports Flask or a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol, runtime_checkable

__all__ = [
    "SUPPORTED_CURRENCY",
    "PaymentNotFound",
    "PaymentProvider",
    "PaymentRequest",
    "PaymentStatus",
    "ProviderError",
    "ProviderPayment",
    "ProviderUnavailable",
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


@dataclass(frozen=True)
class PaymentRequest:
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
    #: A first payment that sets up a recurring mandate at the provider.
    sequence_first: bool = True

    def __post_init__(self) -> None:
        if isinstance(self.amount_cents, bool) or not isinstance(self.amount_cents, int):
            raise TypeError("amount_cents must be an int")
        if self.amount_cents <= 0:
            raise ValueError("amount_cents must be positive")
        if self.currency != SUPPORTED_CURRENCY:
            raise ValueError(f"only {SUPPORTED_CURRENCY} is supported, not {self.currency!r}")


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


class ProviderError(Exception):
    """The provider refused or failed a call; `retryable` says whether trying later may help."""

    retryable: bool = False

    def __init__(self, message: str, *, status: int | None = None, retryable: bool | None = None):
        super().__init__(message)
        self.status = status
        if retryable is not None:
            self.retryable = retryable


class ProviderUnavailable(ProviderError):
    """Network failure, timeout, rate limit or provider-side 5xx: try again later."""

    retryable = True


class PaymentNotFound(ProviderError):
    """The provider does not know this payment (wrong id, or the other test/live mode)."""

    def __init__(self, message: str, *, status: int | None = 404):
        super().__init__(message, status=status, retryable=False)


@runtime_checkable
class PaymentProvider(Protocol):
    """A service that takes iDEAL first payments; chosen by config, never by test flags."""

    name: str

    def create_payment(self, request: PaymentRequest) -> ProviderPayment:
        """Create the payment (and whatever the provider needs for a mandate) and return it."""
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
