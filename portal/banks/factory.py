"""The app's bank adapter from configuration: the iDx client pointed at a real acquirer
(``BANK=emandates``) or at the sandbox bank on the portal's own address (``BANK=sandbox``)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from portal.banks.base import MAX_EXPIRATION, Bank, Product
from portal.banks.certificates import CertificateError, load_certificate, load_signing_pair
from portal.banks.client import IdxBank, IdxSettings
from portal.banks.idx import parse_duration
from portal.banks.sandbox.keys import SandboxKeys, load_or_create_sandbox_keys
from portal.banks.sandbox.service import MERCHANT_ID, SUB_ID
from portal.clock import Clock
from portal.config import ConfigurationError

__all__ = ["BANK_NAMES", "bank_name", "build_bank", "configured_bank", "emandates_settings",
           "expiration_for", "sandbox_keys"]

BANK_NAMES = ("sandbox", "emandates", "none")


def bank_name(config: Any) -> str:
    """The bank signing ``BANK`` chooses; unset, the sandbox bank in development and none in
    production (where the sandbox bank is refused)."""
    return config.get("BANK") or ("none" if config["ENV"] == "production" else "sandbox")


def sandbox_keys_folder(config: Any, instance_path: str | Path) -> Path:
    """Where the sandbox's key pairs live: ``SANDBOX_BANK_KEYS_PATH``, else ``instance/``."""
    return Path(config.get("SANDBOX_BANK_KEYS_PATH") or Path(instance_path) / "emandates-sandbox")


@functools.cache
def _sandbox_keys(folder: Path) -> SandboxKeys:
    return load_or_create_sandbox_keys(folder)


def sandbox_keys(config: Any, instance_path: str | Path) -> SandboxKeys:
    """The sandbox's key pairs, generated once in their folder and then read once per process;
    the client (merchant side) and the sandbox bank's endpoints (acquirer, debtor bank) share
    them."""
    return _sandbox_keys(sandbox_keys_folder(config, instance_path).resolve())


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


def _sandbox_settings(config: Any, instance_path: str | Path) -> Callable[[], IdxSettings]:
    """The sandbox contract on the portal's own address as configured now; its keys are read
    (or generated) on first use."""
    base = config["PUBLIC_BASE_URL"] + "/sandbox-bank/idx"
    timeout = float(config["EMANDATES_TIMEOUT_SECONDS"])
    folder = sandbox_keys_folder(config, instance_path).resolve()

    def settings() -> IdxSettings:
        keys = _sandbox_keys(folder)
        return IdxSettings(
            name="sandbox", directory_url=f"{base}/directory",
            transaction_url=f"{base}/transaction", status_url=f"{base}/status",
            merchant_id=MERCHANT_ID, sub_id=SUB_ID, signing=keys.merchant,
            acquirer_certificates=(keys.acquirer.certificate,), timeout_seconds=timeout)
    return settings


def configured_bank(config: Any) -> str:
    """``BANK`` (or its default), checked against the known names."""
    name = bank_name(config)
    if name not in BANK_NAMES:
        raise ConfigurationError(
            f"PORTAL_BANK={name!r} is unknown; use one of {', '.join(BANK_NAMES)}")
    return name


def build_bank(config: Any, instance_path: str | Path, clock: Clock) -> Bank | None:
    """The app's bank adapter, built once by its adapters (:mod:`portal.adapters.build`), or None
    with ``BANK=none``. A real acquirer's settings are checked here (ConfigurationError names
    what is wrong); the sandbox's keys are made on first use. The sandbox bank itself is refused
    in production by the adapters' one rule (``allow_sandbox``)."""
    name = configured_bank(config)
    if name == "sandbox":
        return IdxBank(_sandbox_settings(config, instance_path), name="sandbox", clock=clock)
    if name == "emandates":
        try:
            settings = emandates_settings(config)
        except (CertificateError, ValueError, OSError) as exc:
            raise ConfigurationError(f"PORTAL_BANK=emandates: {exc}") from None
        return IdxBank(settings, clock=clock)
    return None


def expiration_for(config: Any, product: Product) -> timedelta:
    """How long the debtor may take at their bank for this product (at most P7D)."""
    periods = config["EMANDATES_EXPIRATION"]
    period = parse_duration(periods.get(product.local_instrument)) if isinstance(
        periods, dict) else None
    if period is None:
        period = timedelta(hours=1) if product is Product.CORE else MAX_EXPIRATION
    return min(period, MAX_EXPIRATION)
