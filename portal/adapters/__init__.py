"""The app's adapters: what talks to the world outside the database (payment provider, mail
transport, SMS gateway, PDF store, sealing key and timestamp authority, the eMandates bank) and
the clock. Built
once per app from its configuration by ``create_app()`` (:mod:`.build`) and kept in ``app.extensions["adapters"]``.
Views, job handlers and commands fetch them (:func:`get_adapters`) and hand them to services: a
service takes its adapters as arguments and never looks them up, so it runs without an app
context and a test passes it a fake.

A new adapter (a bank's file transfer) is added the same way: a Protocol and
a builder in its area, a field on :class:`Adapters`, a line in :func:`.build.build_adapters`; its
sandbox twin goes through :func:`allow_sandbox`, the one rule that keeps production off
sandboxes."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

from portal.clock import Clock, utcnow
from portal.config import ConfigurationError

if TYPE_CHECKING:  # the areas import this module; it imports none of them
    from portal.banks.base import Bank
    from portal.collections.routes import Collectors
    from portal.documents.sealing import SealingSetup
    from portal.mail.transport import MailTransport
    from portal.providers.base import PaymentProvider
    from portal.sms import SmsGateway
    from signing import PdfStore

EXTENSION = "adapters"


@dataclass(frozen=True)
class Adapters:
    """Everything a service may be handed besides its session and settings."""

    #: Now, as the app sees it (tests move it through ``CLOCK``).
    clock: Clock
    #: The provider that takes new verification payments (``PAYMENT_PROVIDER``).
    payment_provider: PaymentProvider
    mail: MailTransport
    #: None when SMS is turned off (``SMS_TRANSPORT=none``).
    sms: SmsGateway | None
    pdf_store: PdfStore
    #: Sealing key, trust and timestamp authority, built on first use: most requests never
    #: seal. ``sealing().sealer()`` seals; ``sealing().trust`` verifies.
    sealing: Callable[[], SealingSetup]
    #: Direct-debit collections: the bank route (``COLLECTION_BANK``), the file store, the
    #: policy and what follows a failure (pay links, amendment invitations).
    collectors: Collectors
    #: Signing at the debtor's own bank (eMandates, ``BANK``): the iDx client of a real
    #: acquirer or of the sandbox bank; None when bank signing is off (``BANK=none``).
    bank: Bank | None
    #: The kinds of adapter running as a built-in sandbox (``payments``, ``collections``,
    #: ``banks``);
    #: pages then show a test-mode banner and the sandbox's own pages are served.
    sandboxes: frozenset[str]

    def provider(self, name: str) -> PaymentProvider | None:
        """The provider a stored payment names, or None when this portal no longer runs it."""
        return self.payment_provider if self.payment_provider.name == name else None

    @property
    def test_mode(self) -> bool:
        return bool(self.sandboxes)

    def close(self) -> None:
        """Release connections held by adapters (HTTP clients)."""
        for adapter in (self.payment_provider, self.mail, self.sms, self.bank):
            close = getattr(adapter, "close", None)
            if callable(close):
                close()


def allow_sandbox(config: Mapping[str, Any], kind: str, setting: str,
                  risk: str = "let anyone confirm a mandate without a real bank") -> None:
    """Refuse a sandbox twin in production unless ``SANDBOX_IN_PRODUCTION`` says this is a
    staging site: with a sandbox, anyone can confirm what only a bank should."""
    if config["ENV"] == "production" and not config.get("SANDBOX_IN_PRODUCTION"):
        raise ConfigurationError(
            f"{setting}=sandbox while PORTAL_ENV=production: the built-in {kind} sandbox would "
            f"{risk}. Configure a real one, or set PORTAL_SANDBOX_IN_PRODUCTION=true for a "
            "staging site (every page then shows a test-mode banner).")


def configured_clock(config: Mapping[str, Any]) -> Clock:
    """The clock ``CLOCK`` names when set (tests), else the system's UTC clock."""
    def now() -> datetime:
        return (config.get("CLOCK") or utcnow)()
    return now


def get_adapters(app: Flask | None = None) -> Adapters:
    """The adapters of this app (or the current one): for views, job handlers and commands."""
    return (app or current_app).extensions[EXTENSION]
