"""Building the app's adapters from its configuration, once, in ``create_app()``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from flask import Flask

from portal.adapters import EXTENSION, Adapters, allow_sandbox, configured_clock
from portal.banks.base import Bank
from portal.banks.factory import build_bank, configured_bank
from portal.collections.routes import Collectors, bank_route_name, build_collectors
from portal.config import ConfigurationError
from portal.db import get_session
from portal.documents.sealing import SealingSource
from portal.documents.service import build_pdf_store
from portal.mail.transport import build_mail_transport
from portal.providers import PaymentProvider, UnavailableProvider, build_provider
from portal.sms.gateways import build_sms_gateway

T = TypeVar("T")


def build_adapters(app: Flask, problems: list[str] | None = None) -> Adapters:
    """Every adapter from ``app.config``; a misconfiguration raises ConfigurationError, or with
    ``problems`` given (``flask check``) is listed there and leaves an adapter that refuses."""
    config = app.config
    clock = configured_clock(config)
    sandboxes: set[str] = set()

    def checked(build: Callable[[], T], fallback: Callable[[str], T]) -> T:
        try:
            return build()
        except ConfigurationError as exc:
            if problems is None:
                raise
            problems.append(str(exc))
            return fallback(str(exc))

    def sandbox(kind: str, setting: str) -> None:
        """A sandbox twin is in use: noted for the test-mode banner, refused in production."""
        sandboxes.add(kind)
        allow_sandbox(config, kind, setting)

    def payment_provider() -> PaymentProvider:
        if config["PAYMENT_PROVIDER"] == "sandbox":
            sandbox("payments", "PORTAL_PAYMENT_PROVIDER")
        return build_provider(config, session=get_session, clock=clock)

    def collectors() -> Collectors:
        bank = bank_route_name(config)  # refuses the sandbox bank in production (allow_sandbox)
        if bank == "sandbox":
            sandboxes.add("collections")
        return build_collectors(config, instance, bank)

    def bank() -> Bank | None:
        try:
            if configured_bank(config) == "sandbox":
                sandbox("banks", "PORTAL_BANK")
            return build_bank(config, instance, clock)
        except ConfigurationError:
            if problems is not None and config.get("BANK") == "emandates":
                return None  # flask check's check_bank names each of the acquirer's mistakes
            raise

    def unavailable_provider(why: str) -> PaymentProvider:
        return UnavailableProvider(str(config["PAYMENT_PROVIDER"]), why)

    instance = Path(app.instance_path)
    return Adapters(
        clock=clock,
        payment_provider=checked(payment_provider, unavailable_provider),
        mail=build_mail_transport(config, instance),
        sms=build_sms_gateway(config, instance, clock),
        pdf_store=build_pdf_store(instance),
        sealing=SealingSource(config, instance, clock),
        collectors=checked(collectors, lambda why: build_collectors(config, instance, "manual")),
        bank=checked(bank, lambda why: None),  # bank signing off until it is fixed
        sandboxes=frozenset(sandboxes),
    )


def init_app(app: Flask, problems: list[str] | None = None) -> Adapters:
    """Build the app's adapters (again, after a configuration change: the old ones are closed)."""
    previous: Adapters | None = app.extensions.get(EXTENSION)
    if previous is not None:
        previous.close()
    adapters = app.extensions[EXTENSION] = build_adapters(app, problems)
    return adapters
