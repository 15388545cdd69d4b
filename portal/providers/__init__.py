"""Payment providers: the interface (:mod:`.base`), Mollie, and the built-in sandbox twin."""

from __future__ import annotations

from flask import current_app
from sqlalchemy.orm import Session

from portal.providers.base import (
    PaymentNotFound,
    PaymentProvider,
    PaymentRequest,
    PaymentStatus,
    ProviderError,
    ProviderPayment,
    ProviderUnavailable,
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
    "get_provider",
]

PROVIDER_NAMES = ("sandbox", "mollie")


def get_provider(session: Session, name: str | None = None) -> PaymentProvider:
    """The provider named (default: ``PAYMENT_PROVIDER`` from config), bound to this session."""
    config = current_app.config
    name = name or config["PAYMENT_PROVIDER"]
    if name == "sandbox":
        from portal.sandbox.provider import SandboxProvider

        return SandboxProvider(session, config["PUBLIC_BASE_URL"])
    if name == "mollie":
        from portal.providers.mollie import MollieProvider

        if not config["MOLLIE_API_KEY"]:
            raise ProviderError("PORTAL_MOLLIE_API_KEY is not configured")
        return MollieProvider(api_key=config["MOLLIE_API_KEY"], base_url=config["MOLLIE_BASE_URL"],
                              organization_token=config.get("MOLLIE_ORGANIZATION_TOKEN"))
    raise LookupError(f"unknown payment provider {name!r}")
