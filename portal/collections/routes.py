"""The collector interface: how files reach a bank and reports come back (route 1), and how the
payment provider charges a stored mandate (route 2); each with a sandbox twin, chosen by
config and built once per app, then handed to the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy.orm import Session

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

if TYPE_CHECKING:
    from portal.collections.models import Route
    from portal.providers.base import PaymentProvider

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


def _app_provider(session: Session, name: str) -> PaymentProvider:
    """The app's provider of that name (it works in the unit of work's session)."""
    from portal.adapters import get_adapters
    from portal.providers import ProviderUnavailable

    provider = get_adapters().provider(name)
    if provider is None:
        raise ProviderUnavailable(f"this portal does not run the payment provider {name!r}")
    return provider


def _app_webhook_url(provider: str) -> str | None:
    from portal.payments.links import provider_webhook_url

    return provider_webhook_url(provider)


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
    #: Route 2: the payment provider holding a mandate, by name, bound to a session (the
    #: sandbox keeps its payments in the portal's database), and where it reports payments.
    providers: Callable[[Session, str], PaymentProvider] = _app_provider
    webhook_url: Callable[[str], str | None] = _app_webhook_url
    #: Where a provider sends a payer back (unused by recurring charges, but required).
    return_url: str = "http://127.0.0.1:5000/"


class Collector(Protocol):
    """One way of collecting (route 1, the bank; route 2, the payment provider): presenting a
    merchant's due debits, and learning what became of them. Each step runs in the caller's
    session; the collections run calls both routes' collectors the same way."""

    route: ClassVar[Route]
    #: The :class:`~portal.collections.cycle.RunSummary` lists that the two steps fill.
    submitted_into: ClassVar[str]
    settled_into: ClassVar[str]

    def submit_due(self, session: Session, merchant_id: int, collectors: Collectors, *,
                   actor: str, now: datetime) -> list[str]:
        """Present the merchant's due debits on this route; the ids of what was made (pain.008
        batches, provider payments). Raises CollectionRefused when the merchant cannot."""
        ...

    def settle(self, session: Session, collectors: Collectors, *, now: datetime) -> list[str]:
        """Apply what the bank or provider has reported since; the ids of what was applied."""
        ...


class CollectionRefused(Exception):
    """A merchant cannot collect on a route now; the message says what to set."""


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
                      scratch=root / "scratch", pay_links=pay_links,
                      return_url=f"{str(config['PUBLIC_BASE_URL']).rstrip('/')}/")
