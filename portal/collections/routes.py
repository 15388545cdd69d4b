"""The collector interface: how files reach a bank and reports come back (route 1), and how the
payment provider charges a stored mandate (route 2); each with a sandbox twin, chosen by
config and built once per app, then handed to the services."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from sqlalchemy.orm import Session

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


@dataclass(frozen=True)
class BankReport:
    """A report file the bank has for a merchant (e.g. the camt.054 of a cleared batch)."""

    merchant_id: int
    path: Path


class BankRoute(Protocol):
    """Where exported pain.008 files go and where the bank's reports come from."""

    name: str

    def deliver(self, session: Session, batch: Any, path: Path, now: datetime) -> None:
        """Hand an exported, validated file to the bank (or leave it for the merchant)."""
        ...

    def reports_due(self, session: Session, today: date, now: datetime) -> list[BankReport]:
        """Reports the bank has produced by ``today`` that the portal has not imported."""
        ...


class ManualBank:
    """The real route: the merchant downloads each file and uploads it in its bank's portal, and
    imports the bank's reports through the API or the CLI."""

    name = "manual"

    def deliver(self, session: Session, batch: Any, path: Path, now: datetime) -> None:
        return None

    def reports_due(self, session: Session, today: date, now: datetime) -> list[BankReport]:
        return []


def _app_provider(session: Session, name: str) -> PaymentProvider:
    from portal.providers import get_provider

    return get_provider(session, name)


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


def bank_route_name(config: Any) -> str:
    name = config.get("COLLECTION_BANK") or (
        "sandbox" if config["ENV"] != "production" else "manual")
    if name not in BANK_ROUTES:
        raise ConfigurationError(f"PORTAL_COLLECTION_BANK must be one of "
                                 f"{', '.join(BANK_ROUTES)}, not {name!r}")
    if name == "sandbox" and config["ENV"] == "production" and not config.get(
            "SANDBOX_IN_PRODUCTION"):
        raise ConfigurationError("PORTAL_COLLECTION_BANK=sandbox is refused in production "
                                 "(set PORTAL_SANDBOX_IN_PRODUCTION=true for a demo install)")
    return name


def build_collectors(config: Any, instance_path: str) -> Collectors:
    from portal.collections.sandbox_bank import SandboxBank

    root = Path(instance_path) / "collections"
    store = CollectionFileStore(root / "files")
    bank: BankRoute = SandboxBank(store, root / "sandbox-bank") \
        if bank_route_name(config) == "sandbox" else ManualBank()
    pay_links = CheckoutPayLinks(
        ttl_days=int(config["PAYMENT_REQUEST_TTL_DAYS"]),
        reminder_days=tuple(config["PAYMENT_REMINDER_DAYS"]),
        sms_enabled=config["SMS_TRANSPORT"] in ("file", "http"))
    return Collectors(policy=CollectionPolicy.from_config(config), bank=bank, store=store,
                      scratch=root / "scratch", pay_links=pay_links,
                      return_url=f"{str(config['PUBLIC_BASE_URL']).rstrip('/')}/")


def collectors_of(app: Any) -> Collectors:
    """The app's collectors, built on first use and kept for its lifetime."""
    built = app.extensions.get("collections")
    if built is None:
        built = app.extensions["collections"] = build_collectors(app.config, app.instance_path)
    return built
