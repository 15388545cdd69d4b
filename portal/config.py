"""Configuration layers: defaults here → ``instance/config.py`` → ``PORTAL_*`` environment."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from flask import Flask

#: Defaults for every setting; each can be overridden by ``instance/config.py`` or ``PORTAL_<NAME>``.
DEFAULTS: dict[str, object] = {
    # "development" generates missing keys in instance/; "production" refuses to start without them.
    "ENV": "development",
    "SECRET_KEY": None,
    "SECRET_KEY_FALLBACKS": [],
    # Base64 key (32 bytes) encrypting IBANs at rest; previous keys still decrypt.
    "DATA_KEY": None,
    "DATA_KEY_FALLBACKS": [],
    "DATABASE_URL": None,  # default: sqlite:///<instance>/portal.sqlite3
    "PUBLIC_BASE_URL": "http://127.0.0.1:5000",
    "INVITATION_TTL_DAYS": 14,
    "PAYMENT_PROVIDER": "sandbox",
    "MOLLIE_API_KEY": None,
    "MOLLIE_BASE_URL": "https://api.mollie.com",
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
    # Sealing certificate (PKCS#12); generated self-signed in development when missing.
    "SEAL_PKCS12_PATH": None,  # default: <instance>/seal.p12
    "SEAL_PASSPHRASE": None,
    # Mail: "file" writes .eml files to <instance>/outbox (development), "smtp" sends.
    "MAIL_TRANSPORT": "file",
    "MAIL_FROM": "Mandate portal <no-reply@localhost>",
}


class ConfigurationError(RuntimeError):
    """The portal cannot start with this configuration; the message says what to set."""


def load_config(app: Flask, test_config: dict | None) -> None:
    """Fill ``app.config`` from the layers, then complete what development may generate."""
    app.config.from_mapping(DEFAULTS)
    if test_config is None:
        app.config.from_pyfile("config.py", silent=True)
        app.config.from_prefixed_env("PORTAL")
    else:
        app.config.from_mapping(test_config)
    if not app.config["DATABASE_URL"]:
        app.config["DATABASE_URL"] = f"sqlite:///{Path(app.instance_path) / 'portal.sqlite3'}"
    for name in ("SECRET_KEY", "DATA_KEY"):
        if not app.config[name]:
            app.config[name] = _development_key(app, name)
    app.config["PUBLIC_BASE_URL"] = str(app.config["PUBLIC_BASE_URL"]).rstrip("/")


def _development_key(app: Flask, name: str) -> str:
    """Return a key kept in ``instance/``, generating it once; production must configure it."""
    if app.config["ENV"] == "production":
        raise ConfigurationError(
            f"PORTAL_{name} is not set. In production the portal refuses to start without it: "
            f"generate one with `python -c 'import secrets; print(secrets.token_urlsafe(32))'` "
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
