"""Payment providers: the interface (:mod:`.base`), Mollie, and the built-in sandbox twin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy.orm import Session

from portal.clock import Clock
from portal.config import ConfigurationError
from portal.providers.base import (
    PaymentNotFound,
    PaymentOrder,
    PaymentProvider,
    PaymentRequest,
    PaymentStatus,
    ProviderChargeback,
    ProviderError,
    ProviderMandate,
    ProviderMethod,
    ProviderPayment,
    ProviderRefund,
    ProviderUnavailable,
    Sequence,
    Settlement,
    SettlementItem,
    SettlementsUnavailable,
)

__all__ = [
    "PROVIDER_NAMES",
    "PaymentNotFound",
    "PaymentProvider",
    "PaymentRequest",
    "PaymentStatus",
    "ProviderError",
    "ProviderPayment",
    "ProviderUnavailable",
    "UnavailableProvider",
    "build_provider",
]

PROVIDER_NAMES = ("sandbox", "mollie")


def build_provider(config: Mapping[str, Any], *, session: Callable[[], Session],
                   clock: Clock) -> PaymentProvider:
    """The provider ``PAYMENT_PROVIDER`` names, made once per app. The sandbox keeps its
    payments in the portal's database: ``session`` gives it the session of the unit of work at
    hand (the request's), so they commit with it."""
    name = config["PAYMENT_PROVIDER"]
    if name == "sandbox":
        from portal.sandbox.provider import SandboxProvider

        return SandboxProvider(config["PUBLIC_BASE_URL"], session=session, clock=clock)
    if name == "mollie":
        from portal.providers.mollie import MollieProvider

        if not config["MOLLIE_API_KEY"]:
            raise ConfigurationError("PORTAL_MOLLIE_API_KEY is not set while "
                                     "PORTAL_PAYMENT_PROVIDER=mollie")
        return MollieProvider(api_key=config["MOLLIE_API_KEY"], base_url=config["MOLLIE_BASE_URL"],
                              organization_token=config.get("MOLLIE_ORGANIZATION_TOKEN"))
    raise ConfigurationError(f"unknown PORTAL_PAYMENT_PROVIDER {name!r}: choose one of "
                             f"{', '.join(PROVIDER_NAMES)}")


class UnavailableProvider:
    """Stands in for a provider that could not be configured (``flask check`` lists why)."""

    def __init__(self, name: str, reason: str) -> None:
        self.name = name
        self.reason = reason

    def create_payment(self, request: PaymentOrder) -> ProviderPayment:
        raise ProviderUnavailable(self.reason)

    def get_payment(self, payment_id: str) -> ProviderPayment:
        raise ProviderUnavailable(self.reason)

    def parse_webhook(self, form: Mapping[str, str], body: bytes) -> str:
        raise ProviderUnavailable(self.reason)

    def get_mandate(self, customer_id: str, mandate_id: str) -> ProviderMandate:
        raise ProviderUnavailable(self.reason)

    def create_refund(self, payment_id: str, amount_cents: int, *, description: str,
                      idempotency_key: str | None = None) -> ProviderRefund:
        raise ProviderUnavailable(self.reason)

    def list_refunds(self, payment_id: str) -> list[ProviderRefund]:
        raise ProviderUnavailable(self.reason)

    def list_chargebacks(self, payment_id: str) -> list[ProviderChargeback]:
        raise ProviderUnavailable(self.reason)

    def enabled_methods(self, sequence: Sequence = Sequence.ONEOFF,
                        amount_cents: int | None = None) -> list[ProviderMethod]:
        raise ProviderUnavailable(self.reason)

    def list_settlements(self, limit: int = 50) -> list[Settlement]:
        raise SettlementsUnavailable(self.reason)

    def list_settlement_items(self, settlement_id: str) -> list[SettlementItem]:
        raise SettlementsUnavailable(self.reason)
