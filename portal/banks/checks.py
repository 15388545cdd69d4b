"""``flask check`` for bank signing: the acquirer's URLs, contract ids, our signing key and
certificate, and the acquirer's certificates (including the alternative one)."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from cryptography import x509

from portal.banks.certificates import CertificateError, load_certificate, load_signing_pair

CERTIFICATE_WARNING = timedelta(days=30)
_MERCHANT_ID = re.compile(r"[0-9]{10}")
_LOOPBACK = ("127.0.0.1", "localhost", "::1")


def _expiry(label: str, certificate: x509.Certificate, now: datetime) -> list[str]:
    expires = certificate.not_valid_after_utc
    if expires <= now:
        return [f"{label} expired on {expires:%Y-%m-%d}"]
    if expires - now < CERTIFICATE_WARNING:
        return [f"{label} expires soon, on {expires:%Y-%m-%d}"]
    if certificate.not_valid_before_utc > now:
        return [f"{label} is not valid before {certificate.not_valid_before_utc:%Y-%m-%d}"]
    return []


def check_emandates(config: Any, now: datetime) -> list[str]:
    """Every problem with a real acquirer's configuration (``BANK=emandates``)."""
    return [*_urls(config), *_contract(config), *_signing(config, now),
            *_acquirer_certificates(config, now), *check_expiration(config)]


def _urls(config: Any) -> list[str]:
    problems = []
    for name in ("DIRECTORY_URL", "TRANSACTION_URL", "STATUS_URL"):
        url = config.get(f"EMANDATES_{name}")
        if not url:
            problems.append(f"EMANDATES_{name} is not set while BANK=emandates")
        elif urlsplit(str(url)).scheme != "https" and urlsplit(str(url)).hostname not in _LOOPBACK:
            problems.append(f"EMANDATES_{name} {url!r} is not https")
    return problems


def _contract(config: Any) -> list[str]:
    problems = []
    if not _MERCHANT_ID.fullmatch(str(config.get("EMANDATES_MERCHANT_ID") or "")):
        problems.append("EMANDATES_MERCHANT_ID must be the 10-digit contract id of the acquirer")
    try:
        sub_id = int(config.get("EMANDATES_SUB_ID"))
    except (TypeError, ValueError):
        sub_id = -1
    if not 0 <= sub_id <= 999999:
        problems.append("EMANDATES_SUB_ID must be a number from 0 to 999999")
    return problems


def _signing(config: Any, now: datetime) -> list[str]:
    key, certificate = (config.get("EMANDATES_SIGNING_KEY_PATH"),
                        config.get("EMANDATES_SIGNING_CERTIFICATE_PATH"))
    if not key or not certificate:
        return [("EMANDATES_SIGNING_KEY_PATH and EMANDATES_SIGNING_CERTIFICATE_PATH must name "
                "our signing key and its certificate")]
    try:
        pair = load_signing_pair(key, certificate, config.get("EMANDATES_SIGNING_KEY_PASSPHRASE"))
    except CertificateError as exc:
        return [f"eMandates signing key: {exc}"]
    return _expiry("eMandates signing certificate", pair.certificate, now)


def _acquirer_certificates(config: Any, now: datetime) -> list[str]:
    problems = []
    for name, required in (("ACQUIRER_CERTIFICATE_PATH", True),
                           ("ACQUIRER_ALTERNATIVE_CERTIFICATE_PATH", False)):
        path = config.get(f"EMANDATES_{name}")
        if not path:
            if required:
                problems.append(f"EMANDATES_{name} is not set: the acquirer's answers cannot "
                                "be verified")
            continue
        try:
            acquirer = load_certificate(path)
        except CertificateError as exc:
            problems.append(f"EMANDATES_{name}: {exc}")
        else:
            problems += _expiry(f"acquirer certificate {path}", acquirer, now)
    return problems


def check_expiration(config: Any) -> list[str]:
    from portal.banks.base import MAX_EXPIRATION
    from portal.banks.idx import parse_duration

    periods = config.get("EMANDATES_EXPIRATION")
    if not isinstance(periods, dict):
        return [('EMANDATES_EXPIRATION must map CORE and B2B to ISO 8601 durations, e.g. '
                 '{"CORE": "PT1H", "B2B": "P7D"}')]
    problems = []
    for scheme in ("CORE", "B2B"):
        period = parse_duration(periods.get(scheme))
        if period is None or period < timedelta(minutes=1) or period > MAX_EXPIRATION:
            problems.append(f"EMANDATES_EXPIRATION[{scheme}] must be a duration from PT1M to "
                            f"P7D, not {periods.get(scheme)!r}")
    return problems
