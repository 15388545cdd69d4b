"""The portal's sealing setup, built once per app: key, timestamp authority, trust, revocation.

Production seals with its PKCS#12 certificate, timestamps at the TSA of ``TSA_URL`` and
checks revocation online at the URLs in the certificates. Development (and a staging site
with ``SANDBOX_IN_PRODUCTION``) runs the sandbox twin: a local CA in ``instance/`` issues the
seal and a TSA certificate, the TSA answers in-process and the CA's OCSP responder too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from pyhanko.sign.timestamps.api import TimeStamper
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

from portal.clock import utcnow
from portal.config import ConfigurationError
from signing import (
    DevelopmentPki,
    DevelopmentRevocation,
    LocalTimestampAuthority,
    Sealer,
    SealingKey,
    SealTrust,
    TsaSettings,
    UntrustedTimestampAuthority,
    http_timestamper,
    load_or_create_development_pki,
    load_or_create_sealing_key,
    load_pem_certificates,
    load_sealing_key,
    probe_timestamp_authority,
)

_EXTENSION = "portal.sealing"


@dataclass(frozen=True)
class SealingSetup:
    key: SealingKey
    trust: SealTrust
    #: The TSA, or why there is none (a production site without TSA_URL).
    timestamper: TimeStamper | ConfigurationError
    clock: Callable[[], datetime]

    def sealer(self) -> Sealer:
        if isinstance(self.timestamper, ConfigurationError):
            raise self.timestamper
        return Sealer(key=self.key, timestamper=self.timestamper, trust=self.trust,
                      clock=self.clock)


def sandbox_allowed(config: Any) -> bool:
    """The development CA and TSA are sandboxes: never in production unless asked for."""
    return config["ENV"] != "production" or bool(config.get("SANDBOX_IN_PRODUCTION"))


def seal_key_path(app: Flask) -> Path:
    return Path(app.config["SEAL_PKCS12_PATH"] or Path(app.instance_path) / "seal.p12")


def build_sealing_setup(app: Flask) -> SealingSetup:
    config = app.config

    def clock() -> datetime:
        return (config.get("CLOCK") or utcnow)()

    pki: DevelopmentPki | None = None
    if sandbox_allowed(config):
        pki = load_or_create_development_pki(
            Path(config["DEVELOPMENT_PKI_PATH"] or Path(app.instance_path) / "development-pki"))
    passphrase = config["SEAL_PASSPHRASE"]
    key = load_or_create_sealing_key(
        seal_key_path(app), passphrase.encode() if passphrase else None,
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


def sealing_setup(app: Flask | None = None) -> SealingSetup:
    """The app's sealing setup, built on first use and kept for the app's lifetime."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    setup = app.extensions.get(_EXTENSION)
    if setup is None:
        setup = app.extensions[_EXTENSION] = build_sealing_setup(app)
    return setup


def sealer(app: Flask | None = None) -> Sealer:
    return sealing_setup(app).sealer()


def seal_trust(app: Flask | None = None) -> SealTrust:
    """What `mandate verify`, the console and the API trust as the portal's seal."""
    return sealing_setup(app).trust


def check_sealing(app: Flask, now: datetime) -> list[str]:
    """`flask check`: the seal's chain has a root, and the TSA is configured and trusted."""
    return _seal_chain_problems(app) or check_timestamp_authority(app, now)


def _seal_chain_problems(app: Flask) -> list[str]:
    config = app.config
    if sandbox_allowed(config) or config["TSA_TRUST_ROOTS_PATH"]:
        return []
    try:
        passphrase = config["SEAL_PASSPHRASE"]
        key = load_sealing_key(seal_key_path(app), passphrase.encode() if passphrase else None)
    except (OSError, ValueError):
        return []  # the sealing certificate check reports it
    if key.roots:
        return []
    return [("the sealing certificate's PKCS#12 file has no root certificate: add its chain "
             "up to the CA's root (or the root to PORTAL_TSA_TRUST_ROOTS_PATH)")]


def check_timestamp_authority(app: Flask, now: datetime) -> list[str]:
    """The TSA is configured, answers, and its certificate is trusted for timestamping."""
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
        roots += load_sealing_key(seal_key_path(app),
                                  passphrase.encode() if passphrase else None).roots
    except (OSError, ValueError):
        pass  # the sealing certificate check reports it
    if sandbox_allowed(config):
        roots.append(load_or_create_development_pki(Path(
            config["DEVELOPMENT_PKI_PATH"] or Path(app.instance_path) / "development-pki")
        ).ca.certificate)
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
