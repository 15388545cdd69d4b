"""What invoice and subscription services need from the portal's settings and adapters,
handed to them (so they run without an app context, and a test passes its own)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from portal.adapters import get_adapters
from portal.collections.routes import CollectionPolicy
from portal.payments.service import PaymentSettings


@dataclass(frozen=True)
class Billing:
    collections: CollectionPolicy = field(default_factory=CollectionPolicy)
    payments: PaymentSettings = field(default_factory=PaymentSettings)
    #: A payment request stays payable this many days after the invoice's due date.
    request_ttl_days: int = 30


def billing_of(app: Any) -> Billing:
    """The app's billing settings: the collections policy its adapters were built with (so a
    rebuild after a configuration change is followed) and its payment settings."""
    config = app.config
    return Billing(collections=get_adapters(app).collectors.policy,
                   payments=PaymentSettings.from_config(config),
                   request_ttl_days=int(config["PAYMENT_REQUEST_TTL_DAYS"]))
