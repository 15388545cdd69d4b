"""Configuration layers: defaults here → ``instance/config.py`` → ``PORTAL_*`` environment."""

from __future__ import annotations

import math
import os
import secrets
import string
import zlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from flask import Flask

from portal.console.passwords import weak_hash_problems

#: Defaults for every setting; each can be overridden by ``instance/config.py`` or ``PORTAL_<NAME>``.
DEFAULTS: dict[str, object] = {
    # "development" generates missing keys in instance/; "production" refuses to start without them.
    "ENV": "development",
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": [],
    # Key material encrypting IBANs, webhook secrets and stored API answers at rest; previous
    # keys still decrypt until `flask --app portal keys reencrypt` has moved everything.
    "DATA_KEY": None,
    "DATA_KEY_FALLBACKS": [],
    "DATABASE_URL": None,  # default: sqlite:///<instance>/portal.sqlite3
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    # In production only PUBLIC_BASE_URL's host is answered (Flask's TRUSTED_HOSTS, which can
    # also be set whole); other Host headers get 400. Add e.g. an internal health-check name.
    "EXTRA_TRUSTED_HOSTS": [],
    # Reverse proxies in front of the portal whose X-Forwarded-For/-Proto/-Host are trusted
    # (client IPs for rate limits and signing evidence, https for cookies and OAuth).
    "TRUSTED_PROXIES": 0,
    "INVITATION_TTL_DAYS": 14,
    # A used signing link still offers the sealed PDF for this many days after signing.
    "SIGNED_LINK_PDF_DAYS": 30,
    # Merchant API: access token lifetime, and how long an Idempotency-Key is remembered.
    "API_TOKEN_TTL_SECONDS": 3600,
    "API_IDEMPOTENCY_TTL_HOURS": 24,
    "PAYMENT_PROVIDER": "sandbox",
    # A sandbox (the built-in payment provider, later bank and collector) refuses to run in
    # production unless this says the site is a staging site; pages then show "test mode".
    "SANDBOX_IN_PRODUCTION": False,
    "MOLLIE_API_KEY": None,
    # Mollie reports settlements (payouts and fees) only to an organization access token
    # (``access_…``, scope settlements.read); without one, bookkeeping shows no fees or payouts.
    "MOLLIE_ORGANIZATION_TOKEN": None,
    "MOLLIE_BASE_URL": "https://api.mollie.com",
    # Bank signing (eMandates): "sandbox" (the built-in bank, over HTTP on PUBLIC_BASE_URL),
    # "emandates" (a real acquirer: the EMANDATES_* settings) or "none". None: the sandbox in
    # development, none in production.
    "BANK": None,
    "EMANDATES_DIRECTORY_URL": None,
    "EMANDATES_TRANSACTION_URL": None,
    "EMANDATES_STATUS_URL": None,
    "EMANDATES_MERCHANT_ID": None,  # the 10-digit contract id
    "EMANDATES_SUB_ID": 0,
    "EMANDATES_SIGNING_KEY_PATH": None,  # PEM RSA key signing our requests
    "EMANDATES_SIGNING_KEY_PASSPHRASE": None,
    "EMANDATES_SIGNING_CERTIFICATE_PATH": None,  # its certificate, as registered at the acquirer
    "EMANDATES_ACQUIRER_CERTIFICATE_PATH": None,
    # The acquirer's next certificate during a rollover: answers signed by either are accepted.
    "EMANDATES_ACQUIRER_ALTERNATIVE_CERTIFICATE_PATH": None,
    "EMANDATES_TIMEOUT_SECONDS": 10.0,
    # How long the debtor may take at their bank (ISO 8601, at most P7D): minutes for one
    # person, days for a company whose signers may need to sign in turn.
    "EMANDATES_EXPIRATION": {"CORE": "PT1H", "B2B": "P7D"},
    # The bank list is fetched at most this often (and on demand: `banks directory --refresh`).
    "EMANDATES_DIRECTORY_MAX_AGE_HOURS": 24,
    # Background status checks of open bank transactions, seconds after the start (the last
    # interval repeats until the transaction has expired).
    "EMANDATES_STATUS_POLL_SCHEDULE": [60, 120, 300, 600, 1800, 3600],
    # The return page asks the bank at most this often while the debtor waits.
    "EMANDATES_STATUS_MIN_INTERVAL_SECONDS": 2.0,
    # The sandbox bank: how long it says Pending after the debtor decided; where its keys live
    # (default instance/emandates-sandbox).
    "SANDBOX_BANK_PENDING_SECONDS": 5.0,
    "SANDBOX_BANK_KEYS_PATH": None,
    "BABEL_DEFAULT_LOCALE": "en",
    "SUPPORTED_LOCALES": ["en", "nl", "de", "fr"],
    "WTF_CSRF_TIME_LIMIT": None,
    "SESSION_COOKIE_HTTPONLY": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
    "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    # Background jobs in a thread of the web process (embedded default); set False when separate
    # `flask --app portal worker` processes run them.
    "JOBS_IN_PROCESS": True,
    "JOBS_POLL_SECONDS": 1.0,
    # A claimed job is another worker's to retry once its lease runs out (a crashed worker).
    "JOBS_LEASE_SECONDS": 300,
    # A scheduler's claim on a subscription while it bills it (renewed at every step); a killed
    # scheduler's subscriptions wait this long for another one.
    "SUBSCRIPTIONS_LEASE_SECONDS": 300,
    # Webhooks: per-attempt timeouts (the total is kept under half the job lease); seconds to
    # wait after each failed attempt, after which the delivery fails; a delivery failing when
    # the endpoint has accepted nothing for DISABLE_AFTER_HOURS disables the endpoint; whether
    # loopback/private addresses may be targeted (development receivers only; default: refused).
    "WEBHOOK_CONNECT_TIMEOUT_SECONDS": 5.0,
    "WEBHOOK_TIMEOUT_SECONDS": 15.0,
    "WEBHOOK_RETRY_SCHEDULE": [30, 120, 600, 1800, 3600, 7200, 14400, 28800, 43200,
                               86400, 86400, 86400],
    "WEBHOOK_DISABLE_AFTER_HOURS": 72,
    "WEBHOOK_ALLOW_PRIVATE_NETWORKS": False,
    # Requests in flight at once per worker process, and to any one endpoint: a slow endpoint
    # holds at most its own share, never the others'.
    "WEBHOOK_CONCURRENCY": 64,
    "WEBHOOK_ENDPOINT_CONCURRENCY": 8,
    # How often an idle delivery loop looks for due deliveries (at most the jobs' poll): a
    # new event waits at most this long. Busy, it claims as slots free up.
    "WEBHOOK_POLL_SECONDS": 0.25,
    # Sealing certificate (PKCS#12, with its chain); in development, issued by a local
    # development CA (<instance>/development-pki/) when missing.
    "SEAL_PKCS12_PATH": None,  # default: <instance>/seal.p12
    "SEAL_PASSPHRASE": None,
    # RFC 3161 timestamp authority for the seal's timestamps and the archive timestamps
    # (PAdES-B-LTA); HTTP basic credentials if it wants them. Unset outside production: the
    # development CA's local TSA. TSA_TRUST_ROOTS_PATH: PEM file with the CA certificate(s)
    # the TSA's certificate chains to (the seal's own chain is read from its PKCS#12 file).
    "TSA_URL": None,
    "TSA_USERNAME": None,
    "TSA_PASSWORD": None,
    "TSA_TIMEOUT_SECONDS": 10.0,
    "TSA_TRUST_ROOTS_PATH": None,
    # `mandate retimestamp` renews a PDF's archive timestamp this many days before the
    # certificate of its newest timestamp expires.
    "ARCHIVE_RENEWAL_DAYS": 180,
    "DEVELOPMENT_PKI_PATH": None,  # default: <instance>/development-pki
    # Mail: "file" writes .eml files to <instance>/outbox (development), "smtp" sends.
    "MAIL_TRANSPORT": "file",
    "MAIL_FROM": "Mandate portal <no-reply@localhost>",
    "SMTP_HOST": None,
    "SMTP_PORT": 587,
    "SMTP_SECURITY": "starttls",  # "starttls", "tls" or "none"
    "SMTP_USERNAME": None,
    "SMTP_PASSWORD": None,
    "SMTP_TIMEOUT_SECONDS": 20.0,
    "SMTP_CA_FILE": None,  # CA bundle for a relay with a private certificate (default: system)
    # Envelope sender (MAIL FROM): where bounces go; feed them to `flask --app portal mail
    # bounce`. None: the address of MAIL_FROM.
    "MAIL_BOUNCE_ADDRESS": None,
    # SMS: "file" writes <instance>/outbox/*.sms.txt (development), "http" posts to a
    # MessageBird-style gateway (SMS_API_URL + "/messages", "Authorization: AccessKey …"),
    # "none" turns SMS off (the API then refuses send_via=sms).
    "SMS_TRANSPORT": "file",
    "SMS_API_URL": "https://rest.messagebird.com",
    "SMS_API_KEY": None,
    "SMS_ORIGINATOR": "Mandates",  # a number, or at most 11 letters and digits
    "SMS_TIMEOUT_SECONDS": 10.0,
    # Seconds between attempts to hand over a message (mail or SMS) that failed temporarily;
    # after the last, the invitation's delivery is marked failed (~3 days in all).
    "DELIVERY_RETRY_SCHEDULE": [60, 300, 900, 1800, 3600, 7200, 14400, 28800, 43200, 86400,
                                86400],
    # Reminders for unsigned invitations, in days after sending (a merchant may set its own).
    "REMINDER_DAYS": [3, 7],
    # Payment requests: how long a link stays payable by default (days), and reminders in days
    # around the due date (negative: before it); a merchant may set its own schedule.
    "PAYMENT_REQUEST_TTL_DAYS": 30,
    "PAYMENT_REMINDER_DAYS": [-3, 0, 7],
    # Collections (direct debits). The bank route's adapter: "sandbox" (the built-in bank that
    # clears exported files on their collection date) or "manual" (the merchant uploads the
    # files to its bank and imports the returns); None: sandbox in development, else manual.
    "COLLECTION_BANK": None,
    # Defaults for merchants without their own collection settings.
    "COLLECTION_PAIN_VERSION": "pain.008.001.02",
    "COLLECTION_LEAD_DAYS": 0,
    "COLLECTION_PRENOTIFICATION_DAYS": 14,
    "COLLECTION_RETRY_DELAYS_DAYS": [5, 10],
    # Debits due within this many days go into an export (banks take files up to 14 days ahead).
    "COLLECTION_EXPORT_HORIZON_DAYS": 14,
    # Mandates unused this long after their last collection (or signature) expire.
    "COLLECTION_MANDATE_EXPIRY_MONTHS": 36,
    # CSV batches in the console: the largest file and the most rows one upload may carry.
    "BATCH_MAX_BYTES": 32 * 1024 * 1024,
    "BATCH_MAX_ROWS": 100_000,
    # The largest return file (pain.002, camt.054, CSV) the API accepts.
    "COLLECTION_MAX_REPORT_BYTES": 256 * 1024 * 1024,
    # Logs: "text" for development, "json" (default in production) for log shippers.
    "LOG_FORMAT": None,
    "LOG_LEVEL": "INFO",
    # Prometheus metrics at /metrics, only with this bearer token (unset: endpoint disabled).
    "METRICS_TOKEN": None,
    # Rate limits (the limits library's syntax, "10 per minute;100 per hour");
    # storage "memory://" or e.g. "redis://host:6379/0".
    "RATELIMIT_STORAGE_URI": "memory://",
    "RATELIMIT_SIGN_OPEN": "60 per minute",
    "RATELIMIT_SIGN_SUBMIT": "10 per minute",
    "RATELIMIT_TOKEN": "30 per minute",
    "RATELIMIT_SHORTLINK": "60 per minute",
    "RATELIMIT_CONSOLE_LOGIN": "5 per minute",
    "RATELIMIT_REVOKE": "30 per minute",
    # Support console: a login ends after this many minutes without a console request, and
    # after this many hours however busy it is.
    "CONSOLE_IDLE_MINUTES": 30,
    "CONSOLE_SESSION_HOURS": 12,
    # Per-account lockout: after this many attempts without a success, an account name is
    # locked for LOCKOUT_MINUTES, then twice as long after each further miss, up to the maximum.
    "CONSOLE_LOCKOUT_AFTER": 5,
    "CONSOLE_LOCKOUT_MINUTES": 1,
    "CONSOLE_LOCKOUT_MAX_MINUTES": 60,
    # A password login waits this long at most for its TOTP code (a session of its own that
    # opens nothing else).
    "CONSOLE_SECOND_FACTOR_MINUTES": 10,
    # Staff password hashes (Argon2id): OWASP's parameters; production refuses lower ones (a
    # test suite lowers them to keep each login cheap, tests/conftest.py).
    "CONSOLE_ARGON2_TIME_COST": 2,
    "CONSOLE_ARGON2_MEMORY_KIB": 19 * 1024,
    "CONSOLE_ARGON2_PARALLELISM": 1,
    # The name authenticator apps show beside the console's TOTP entry.
    "CONSOLE_TOTP_ISSUER": "Mandate portal",
    # A console invitation link is valid this long, once.
    "CONSOLE_INVITE_DAYS": 7,
    # Sign-in through the company's OpenID Connect provider (Authlib): its issuer URL (the
    # discovery document is read from ISSUER/.well-known/openid-configuration), client id and
    # secret. None: local accounts only.
    "CONSOLE_OIDC_ISSUER": None,
    "CONSOLE_OIDC_CLIENT_ID": None,
    "CONSOLE_OIDC_CLIENT_SECRET": None,
    # Email domains whose verified addresses may sign in (empty: any domain).
    "CONSOLE_OIDC_ALLOWED_DOMAINS": [],
    # A claim of the id_token, and which of its values make which staff member on first
    # sign-in: {"portal-admins": {"role": "platform_admin"},
    #           "acme-support": {"role": "support", "merchants": ["mer_…"]}}.
    # Without a match only existing (invited) staff sign in, with their own role.
    "CONSOLE_OIDC_ROLE_CLAIM": "groups",
    "CONSOLE_OIDC_ROLE_MAP": {},
    # Keys the audit trail's hash chain (HMAC) and signs `audit head` statements; keep it out
    # of the database's reach. Previous keys still verify the rows they made.
    "AUDIT_KEY": None,
    "AUDIT_KEY_FALLBACKS": [],
}


class ConfigurationError(RuntimeError):
    """The portal cannot start with this configuration; the message says what to set."""


#: Production refuses keys estimated below this (32 random bytes).
MIN_KEY_BITS = 256
#: Key alphabets, smallest first: a key is judged as if drawn from the first that holds it.
_ALPHABETS = (string.hexdigits.lower(), string.hexdigits.upper(),
              string.ascii_letters + string.digits + "-_",  # secrets.token_urlsafe
              string.ascii_letters + string.digits + "+/=",  # base64
              string.printable.strip())
GENERATE_KEY = "python -c 'import secrets; print(secrets.token_urlsafe(32))'"


def load_config(app: Flask, test_config: dict | None,
                problems: list[str] | None = None) -> None:
    """Fill ``app.config`` from the layers, then complete what development may generate.

    With ``problems`` given, a missing production key is reported there instead of raised,
    so ``flask check`` can list every problem at once."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("PORTAL")
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'portal.sqlite3'}"
    for name in ("SECRET_KEY", "DATA_KEY", "AUDIT_KEY"):
        if not app.config[name]:
            try:
                app.config[name] = _development_key(app, name)
            except ConfigurationError as exc:
                if problems is None:
                    raise
                problems.append(str(exc))
                app.config[name] = "unset-" + secrets.token_hex(8)
    app.config["PUBLIC_BASE_URL"] = str(app.config["PUBLIC_BASE_URL"]).rstrip("/")
    if app.config["ENV"] == "production":
        for problem in weak_key_problems(app.config) + weak_hash_problems(app.config):
            if problems is None:
                raise ConfigurationError(problem)
            problems.append(problem)
        if app.config.get("TRUSTED_HOSTS") is None:
            app.config["TRUSTED_HOSTS"] = trusted_hosts(app.config)
    for problem in console_oidc_problems(app.config):
        if problems is None:
            raise ConfigurationError(problem)
        problems.append(problem)
    if not app.config["LOG_FORMAT"]:
        app.config["LOG_FORMAT"] = "json" if app.config["ENV"] == "production" else "text"


def console_oidc_problems(config: Mapping[str, Any]) -> list[str]:
    """What keeps the console's OpenID Connect sign-in from working safely, if it is set up."""
    issuer = config.get("CONSOLE_OIDC_ISSUER")
    if not issuer:
        return []
    found = []
    if not config.get("CONSOLE_OIDC_CLIENT_ID") or not config.get("CONSOLE_OIDC_CLIENT_SECRET"):
        found.append("PORTAL_CONSOLE_OIDC_ISSUER is set without PORTAL_CONSOLE_OIDC_CLIENT_ID "
                     "and PORTAL_CONSOLE_OIDC_CLIENT_SECRET")
    if config["ENV"] == "production" and not str(issuer).startswith("https://"):
        found.append("PORTAL_CONSOLE_OIDC_ISSUER must be an https:// URL in production")
    role_map = config.get("CONSOLE_OIDC_ROLE_MAP") or {}
    roles = ("support", "merchant_admin", "platform_admin")
    if not isinstance(role_map, dict) or not all(
            isinstance(grant, dict) and grant.get("role") in roles
            and isinstance(grant.get("merchants", []), list) for grant in role_map.values()):
        found.append('PORTAL_CONSOLE_OIDC_ROLE_MAP must map claim values to {"role": '
                     '"support" | "merchant_admin" | "platform_admin", "merchants": [...]}')
    return found


def estimated_key_bits(key: str) -> float:
    """A cautious estimate of the randomness in ``key``: its length times the bits per character
    of the smallest usual alphabet holding it (hex, base64url, base64, printable ASCII), none
    at all if it is mostly repetition (it compresses to under three quarters)."""
    raw = key.encode("utf-8", "surrogatepass")
    if len(set(key)) < 8 or len(zlib.compress(raw, 9)) < 0.75 * len(raw):
        return 0.0
    size = next((len(set(a)) for a in _ALPHABETS if set(key) <= set(a)), 128)
    return len(key) * math.log2(size)


def weak_key_problems(config: dict) -> list[str]:
    """Why each configured key (secret key, data key, audit key and their fallbacks) is too
    weak for production, if it is: every one of them can forge links, decrypt IBANs or rewrite
    the audit trail."""
    found = []
    for name in ("SECRET_KEY", "DATA_KEY", "AUDIT_KEY"):
        for label, key in [(f"PORTAL_{name}", config[name]),
                           *((f"PORTAL_{name}_FALLBACKS[{i}]", k)
                             for i, k in enumerate(config[f"{name}_FALLBACKS"] or ()))]:
            if str(key).startswith("unset-"):
                continue  # reported as missing already
            bits = estimated_key_bits(str(key))
            if bits < MIN_KEY_BITS:
                found.append(f"{label} is too weak for production: about {bits:.0f} bits of "
                             f"randomness, {MIN_KEY_BITS} needed (32 random bytes); generate one "
                             f"with `{GENERATE_KEY}`")
    return found


def trusted_hosts(config: dict) -> list[str]:
    """The Host headers production answers: PUBLIC_BASE_URL's host, then EXTRA_TRUSTED_HOSTS."""
    public = urlsplit(str(config["PUBLIC_BASE_URL"])).hostname
    extra = config["EXTRA_TRUSTED_HOSTS"] or []
    if isinstance(extra, str):  # PORTAL_EXTRA_TRUSTED_HOSTS="a.example, b.example" (not JSON)
        extra = extra.replace(",", " ").split()
    return [*([public] if public else []), *extra]


def _development_key(app: Flask, name: str) -> str:
    """Return a key kept in ``instance/``, generating it once; production must configure it."""
    if app.config["ENV"] == "production":
        raise ConfigurationError(
            f"PORTAL_{name} is not set. In production the portal refuses to start without it: "
            f"generate one with `{GENERATE_KEY}` "
            f"and set PORTAL_{name} (or {name} in instance/config.py)."
        )
    path = Path(app.instance_path) / name.lower()
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    value = secrets.token_urlsafe(32)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process generated it first
        return path.read_text().strip()
    try:
        os.write(fd, value.encode())
    finally:
        os.close(fd)
    return value
