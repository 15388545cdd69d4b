"""The app's bank adapter from configuration: the iDx client pointed at a real acquirer
(``BANK=emandates``) or at the sandbox bank on the portal's own address (``BANK=sandbox``)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask

from portal.banks.base import MAX_EXPIRATION, Bank, Product
from portal.banks.certificates import load_certificate, load_signing_pair
from portal.banks.client import IdxBank, IdxSettings
from portal.banks.idx import parse_duration
from portal.banks.sandbox.keys import SandboxKeys, load_or_create_sandbox_keys
from portal.banks.sandbox.service import MERCHANT_ID, SUB_ID
from portal.clock import now

__all__ = ["BANK_NAMES", "bank_name", "bank_of", "emandates_settings", "expiration_for", "sandbox_keys"]

BANK_NAMES = ("sandbox", "emandates", "none")


def bank_name(config: Any) -> str:
    """The bank signing ``BANK`` chooses; unset, the sandbox bank in development and none in
    production (where the sandbox bank is refused)."""
    return config.get("BANK") or ("none" if config["ENV"] == "production" else "sandbox")


def sandbox_keys(app: Flask) -> SandboxKeys:
    """The sandbox's key pairs, generated once in ``instance/`` (or ``SANDBOX_BANK_KEYS_PATH``)."""
    keys = app.extensions.get("sandbox_bank_keys")
    if keys is None:
        folder = app.config["SANDBOX_BANK_KEYS_PATH"] or Path(app.instance_path) / "emandates-sandbox"
        keys = load_or_create_sandbox_keys(Path(folder))
        app.extensions["sandbox_bank_keys"] = keys
    return keys


def emandates_settings(config: Any) -> IdxSettings:
    """The real acquirer's contract from ``EMANDATES_*``; CertificateError or ValueError name
    what is missing or wrong (``flask check`` lists them)."""
    missing = [name for name in ("DIRECTORY_URL", "TRANSACTION_URL", "STATUS_URL",
                                 "MERCHANT_ID", "SIGNING_KEY_PATH", "SIGNING_CERTIFICATE_PATH",
                                 "ACQUIRER_CERTIFICATE_PATH")
               if not config.get(f"EMANDATES_{name}")]
    if missing:
        raise ValueError("BANK=emandates needs " + ", ".join(f"EMANDATES_{m}" for m in missing))
    certificates = [load_certificate(config["EMANDATES_ACQUIRER_CERTIFICATE_PATH"])]
    if config.get("EMANDATES_ACQUIRER_ALTERNATIVE_CERTIFICATE_PATH"):
        certificates.append(load_certificate(
            config["EMANDATES_ACQUIRER_ALTERNATIVE_CERTIFICATE_PATH"]))
    return IdxSettings(
        name="emandates", directory_url=config["EMANDATES_DIRECTORY_URL"],
        transaction_url=config["EMANDATES_TRANSACTION_URL"],
        status_url=config["EMANDATES_STATUS_URL"],
        merchant_id=str(config["EMANDATES_MERCHANT_ID"]),
        sub_id=int(config["EMANDATES_SUB_ID"]),
        signing=load_signing_pair(config["EMANDATES_SIGNING_KEY_PATH"],
                                  config["EMANDATES_SIGNING_CERTIFICATE_PATH"],
                                  config.get("EMANDATES_SIGNING_KEY_PASSPHRASE")),
        acquirer_certificates=tuple(certificates),
        timeout_seconds=float(config["EMANDATES_TIMEOUT_SECONDS"]))


def _sandbox_settings(app: Flask) -> IdxSettings:
    keys = sandbox_keys(app)
    base = app.config["PUBLIC_BASE_URL"] + "/sandbox-bank/idx"
    return IdxSettings(
        name="sandbox", directory_url=f"{base}/directory", transaction_url=f"{base}/transaction",
        status_url=f"{base}/status", merchant_id=MERCHANT_ID, sub_id=SUB_ID,
        signing=keys.merchant, acquirer_certificates=(keys.acquirer.certificate,),
        timeout_seconds=float(app.config["EMANDATES_TIMEOUT_SECONDS"]))


def bank_of(app: Flask) -> Bank | None:
    """The app's bank adapter (built on first use, then kept), or None with ``BANK=none``."""
    if "bank" not in app.extensions:
        name = bank_name(app.config)
        if name not in BANK_NAMES:
            raise LookupError(f"unknown BANK {name!r}; use one of {', '.join(BANK_NAMES)}")
        bank = None
        if name == "sandbox":
            bank = IdxBank(_sandbox_settings(app), clock=now)
        elif name == "emandates":
            bank = IdxBank(emandates_settings(app.config), clock=now)
        app.extensions["bank"] = bank
    return app.extensions["bank"]


def expiration_for(config: Any, product: Product) -> timedelta:
    """How long the debtor may take at their bank for this product (at most P7D)."""
    periods = config["EMANDATES_EXPIRATION"]
    period = parse_duration(periods.get(product.local_instrument)) if isinstance(
        periods, dict) else None
    if period is None:
        period = timedelta(hours=1) if product is Product.CORE else MAX_EXPIRATION
    return min(period, MAX_EXPIRATION)
