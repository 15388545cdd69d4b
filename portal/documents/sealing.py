"""The portal's sealing setup, built once per app: key, timestamp authority, trust, revocation.

Production seals with its PKCS#12 certificate, timestamps at the TSA of ``TSA_URL`` and
checks revocation online at the URLs in the certificates. Development (and a staging site
with ``SANDBOX_IN_PRODUCTION``) runs the sandbox twin: a local CA in ``instance/`` issues the
seal and a TSA certificate, the TSA answers in-process and the CA's OCSP responder too.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flask import Flask

from portal.adapters import get_adapters
from portal.clock import Clock
from portal.config import ConfigurationError
from signing.pki import DevelopmentPki, load_or_create_development_pki

if TYPE_CHECKING:  # pyHanko loads with the first seal or check, not with every app
    from pyhanko.sign.timestamps.api import TimeStamper

    from signing import Sealer, SealingKey, SealTrust


@dataclass(frozen=True)
class SealingSetup:
    key: SealingKey
    trust: SealTrust
    #: The TSA, or why there is none (a production site without TSA_URL).
    timestamper: TimeStamper | ConfigurationError
    clock: Callable[[], datetime]

    def sealer(self) -> Sealer:
        from signing import Sealer

        if isinstance(self.timestamper, ConfigurationError):
            raise self.timestamper
        return Sealer(key=self.key, timestamper=self.timestamper, trust=self.trust,
                      clock=self.clock)


def sandbox_allowed(config: Mapping[str, Any]) -> bool:
    """The development CA and TSA are sandboxes: never in production unless asked for."""
    return config["ENV"] != "production" or bool(config.get("SANDBOX_IN_PRODUCTION"))


def seal_key_path(config: Mapping[str, Any], instance: Path) -> Path:
    return Path(config["SEAL_PKCS12_PATH"] or instance / "seal.p12")


def development_pki_path(config: Mapping[str, Any], instance: Path) -> Path:
    return Path(config["DEVELOPMENT_PKI_PATH"] or instance / "development-pki")


def build_sealing_setup(config: Mapping[str, Any], instance: Path,
                        clock: Clock) -> SealingSetup:
    """Key, trust and TSA from the configuration (the development CA and TSA outside
    production)."""
    from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

    from signing import (
        DevelopmentRevocation,
        LocalTimestampAuthority,
        SealTrust,
        TsaSettings,
        http_timestamper,
        load_or_create_sealing_key,
        load_pem_certificates,
    )

    pki: DevelopmentPki | None = None
    if sandbox_allowed(config):
        pki = load_or_create_development_pki(development_pki_path(config, instance))
    passphrase = config["SEAL_PASSPHRASE"]
    key = load_or_create_sealing_key(
        seal_key_path(config, instance), passphrase.encode() if passphrase else None,
        allow_generate=config["ENV"] != "production", ca=pki.ca if pki else None)

    roots = [*key.roots]
    if config["TSA_TRUST_ROOTS_PATH"]:
        roots += load_pem_certificates(Path(config["TSA_TRUST_ROOTS_PATH"]).read_bytes())
    if pki is not None:
        roots.append(pki.ca.certificate)
    revocation = (DevelopmentRevocation(pki.ca, clock, fallback=RequestsFetcherBackend())
                  if pki is not None else None)
    trust = SealTrust.of(roots, seal_subject=key.certificate.subject.rfc4514_string(),
                         revocation=revocation, fetch_online=True,
                         intermediates=key.intermediates)

    timestamper: TimeStamper | ConfigurationError
    if config["TSA_URL"]:
        timestamper = http_timestamper(TsaSettings(
            url=config["TSA_URL"], username=config["TSA_USERNAME"],
            password=config["TSA_PASSWORD"], timeout_seconds=float(config["TSA_TIMEOUT_SECONDS"])))
    elif pki is not None:
        timestamper = LocalTimestampAuthority(pki.timestamping, [pki.ca.root], clock)
    else:
        timestamper = ConfigurationError(
            "PORTAL_TSA_URL is not set: production seals need a real RFC 3161 timestamp "
            "authority (the development TSA runs only with PORTAL_SANDBOX_IN_PRODUCTION=true)")
    return SealingSetup(key=key, trust=trust, timestamper=timestamper, clock=clock)


class SealingSource:
    """The app's sealing setup, built on first use (most requests never seal) and then kept
    for the app's lifetime; the app's adapters hold one."""

    def __init__(self, config: Mapping[str, Any], instance: Path, clock: Clock) -> None:
        self._config, self._instance, self._clock = config, instance, clock
        self._setup: SealingSetup | None = None
        self._lock = threading.Lock()

    def __call__(self) -> SealingSetup:
        with self._lock:
            if self._setup is None:
                self._setup = build_sealing_setup(self._config, self._instance, self._clock)
            return self._setup


def sealer(app: Flask | None = None) -> Sealer:
    """The app's sealer, for commands and job handlers (services take it as an argument)."""
    return get_adapters(app).sealing().sealer()


def seal_trust(app: Flask | None = None) -> SealTrust:
    """What `mandate verify`, the console and the API trust as the portal's seal."""
    return get_adapters(app).sealing().trust


def check_sealing(app: Flask, now: datetime) -> list[str]:
    """`flask check`: the seal's chain has a root, and the TSA is configured and trusted."""
    return _seal_chain_problems(app) or check_timestamp_authority(app, now)


def _seal_chain_problems(app: Flask) -> list[str]:
    from signing import load_sealing_key

    config = app.config
    if sandbox_allowed(config) or config["TSA_TRUST_ROOTS_PATH"]:
        return []
    try:
        passphrase = config["SEAL_PASSPHRASE"]
        key = load_sealing_key(seal_key_path(config, Path(app.instance_path)),
                               passphrase.encode() if passphrase else None)
    except (OSError, ValueError):
        return []  # the sealing certificate check reports it
    if key.roots:
        return []
    return [("the sealing certificate's PKCS#12 file has no root certificate: add its chain "
             "up to the CA's root (or the root to PORTAL_TSA_TRUST_ROOTS_PATH)")]


def check_timestamp_authority(app: Flask, now: datetime) -> list[str]:
    """The TSA is configured, answers, and its certificate is trusted for timestamping."""
    from signing import (
        TsaSettings,
        UntrustedTimestampAuthority,
        http_timestamper,
        load_pem_certificates,
        load_sealing_key,
        probe_timestamp_authority,
    )

    config = app.config
    url = config["TSA_URL"]
    if not url:
        if sandbox_allowed(config):
            return []
        return [("PORTAL_TSA_URL is not set: production seals need a real RFC 3161 "
                 "timestamp authority (PAdES-B-LTA)")]
    if not str(url).startswith(("https://", "http://")):
        return [f"PORTAL_TSA_URL {url!r} is not an http(s) URL"]
    if bool(config["TSA_USERNAME"]) != bool(config["TSA_PASSWORD"]):
        return ["PORTAL_TSA_USERNAME and PORTAL_TSA_PASSWORD must be set together"]
    roots: list[Any] = []
    if config["TSA_TRUST_ROOTS_PATH"]:
        try:
            roots += load_pem_certificates(Path(config["TSA_TRUST_ROOTS_PATH"]).read_bytes())
        except (OSError, ValueError) as exc:
            path = config["TSA_TRUST_ROOTS_PATH"]
            return [f"TSA trust roots unreadable: {path}: {type(exc).__name__}"]
    try:
        passphrase = config["SEAL_PASSPHRASE"]
        roots += load_sealing_key(seal_key_path(config, Path(app.instance_path)),
                                  passphrase.encode() if passphrase else None).roots
    except (OSError, ValueError):
        pass  # the sealing certificate check reports it
    if sandbox_allowed(config):
        roots.append(load_or_create_development_pki(
            development_pki_path(config, Path(app.instance_path))).ca.certificate)
    timestamper = http_timestamper(TsaSettings(
        url=url, username=config["TSA_USERNAME"], password=config["TSA_PASSWORD"],
        timeout_seconds=float(config["TSA_TIMEOUT_SECONDS"])))
    try:
        certificate = probe_timestamp_authority(timestamper, roots, now)
    except UntrustedTimestampAuthority as exc:
        return [(f"the TSA's certificate is not trusted for timestamps: {exc} "
                 "(set PORTAL_TSA_TRUST_ROOTS_PATH to its CA certificate)")]
    except Exception as exc:  # noqa: BLE001 - unreachable, refused, garbage: all are findings
        return [f"TSA at {url} gave no timestamp: {type(exc).__name__}: {exc}"[:300]]
    expires = certificate.not_valid_after_utc
    if expires - now < timedelta(days=int(config["ARCHIVE_RENEWAL_DAYS"])):
        return [(f"the TSA's certificate expires on {expires:%Y-%m-%d}, within "
                f"ARCHIVE_RENEWAL_DAYS: new seals would be due for renewal at once")]
    return []
