"""The collector interface: how files reach a bank and reports come back (route 1), and how the
payment provider charges a stored mandate (route 2); each with a sandbox twin, chosen by
config and built once per app, then handed to the services."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from portal.adapters import allow_sandbox
from portal.collections.bank import BankRoute, ManualBank
from portal.collections.files import CollectionFileStore
from portal.collections.followups import (
    AmendmentInvitations,
    CheckoutPayLinks,
    EmailAmendmentInvitations,
    NoPayLinks,
    PayLinks,
)
from portal.config import ConfigurationError

BANK_ROUTES = ("sandbox", "manual")


@dataclass(frozen=True)
class CollectionPolicy:
    """The portal-wide collection settings (merchants may override most per merchant)."""

    pain_version: str = "pain.008.001.02"
    lead_days: int = 0
    prenotification_days: int = 14
    retry_delays_days: tuple[int, ...] = (5, 10)
    export_horizon_days: int = 14
    mandate_expiry_months: int = 36

    @classmethod
    def from_config(cls, config: Any) -> CollectionPolicy:
        return cls(pain_version=config["COLLECTION_PAIN_VERSION"],
                   lead_days=int(config["COLLECTION_LEAD_DAYS"]),
                   prenotification_days=int(config["COLLECTION_PRENOTIFICATION_DAYS"]),
                   retry_delays_days=tuple(int(d) for d in config["COLLECTION_RETRY_DELAYS_DAYS"]),
                   export_horizon_days=int(config["COLLECTION_EXPORT_HORIZON_DAYS"]),
                   mandate_expiry_months=int(config["COLLECTION_MANDATE_EXPIRY_MONTHS"]))


@dataclass
class Collectors:
    """Everything collections need from outside, made once per app."""

    policy: CollectionPolicy
    bank: BankRoute
    store: CollectionFileStore
    #: Where sandbox reports are written before import (inside the instance folder).
    scratch: Path
    pay_links: PayLinks = field(default_factory=NoPayLinks)
    invitations: AmendmentInvitations = field(default_factory=EmailAmendmentInvitations)


def configured_bank(config: Any) -> str:
    """The bank route ``COLLECTION_BANK`` names (default: sandbox in development, manual in
    production)."""
    name = config.get("COLLECTION_BANK") or (
        "sandbox" if config["ENV"] != "production" else "manual")
    if name not in BANK_ROUTES:
        raise ConfigurationError(f"PORTAL_COLLECTION_BANK must be one of "
                                 f"{', '.join(BANK_ROUTES)}, not {name!r}")
    return name


def bank_route_name(config: Any) -> str:
    """The configured bank route; the sandbox bank goes through the one rule that keeps
    production off sandboxes."""
    name = configured_bank(config)
    if name == "sandbox":
        allow_sandbox(config, "collection bank", "PORTAL_COLLECTION_BANK",
                      risk="invent what the bank reports: no money would move")
    return name


def build_collectors(config: Any, instance_path: str | Path, bank_name: str | None = None
                     ) -> Collectors:
    """The collectors, made once per app by its adapters (``bank_name`` overrides the
    configured route: ``flask check`` keeps going on the manual one after a refusal)."""
    from portal.collections.sandbox_bank import SandboxBank

    root = Path(instance_path) / "collections"
    store = CollectionFileStore(root / "files")
    bank: BankRoute = SandboxBank(store, root / "sandbox-bank") \
        if (bank_name or bank_route_name(config)) == "sandbox" else ManualBank()
    pay_links = CheckoutPayLinks(
        ttl_days=int(config["PAYMENT_REQUEST_TTL_DAYS"]),
        reminder_days=tuple(config["PAYMENT_REMINDER_DAYS"]),
        sms_enabled=config["SMS_TRANSPORT"] in ("file", "http"))
    return Collectors(policy=CollectionPolicy.from_config(config), bank=bank, store=store,
                      scratch=root / "scratch", pay_links=pay_links)
