"""``flask --app portal check``: every misconfiguration at once, non-zero exit if any.

Registered as a ``flask.commands`` entry point, so it runs even where the app itself would
refuse to start (a production instance without its keys)."""

from __future__ import annotations

import smtplib
import socket
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from cryptography import x509
from flask import Flask
from sqlalchemy.exc import SQLAlchemyError

from portal.migrate import MIGRATIONS

CERTIFICATE_WARNING = timedelta(days=30)


def check_database(app: Flask) -> list[str]:
    from portal.db import state

    try:
        with state(app).engine.connect() as connection:
            current = set(MigrationContext.configure(connection).get_current_heads())
    except SQLAlchemyError as exc:
        return [f"database unreachable: {type(exc).__name__}: {str(exc).splitlines()[0][:200]}"]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    expected = set(ScriptDirectory.from_config(config).get_heads())
    if current != expected:
        hint = "run `flask --app portal db upgrade`"
        return [f"database is not migrated to the latest schema: {hint}"]
    return []


def check_signing_certificate(app: Flask, now: datetime) -> list[str]:
    path = Path(app.config["SEAL_PKCS12_PATH"] or Path(app.instance_path) / "seal.p12")
    if not path.exists():
        if app.config["ENV"] == "production":
            return [f"signing certificate missing: {path} (set PORTAL_SEAL_PKCS12_PATH)"]
        return []
    try:
        from signing import load_sealing_key

        passphrase = app.config["SEAL_PASSPHRASE"]
        key = load_sealing_key(path, passphrase.encode() if passphrase else None)
        certificate = x509.load_der_x509_certificate(key.certificate_der)
    except Exception as exc:  # unreadable file, wrong passphrase: both are findings
        return [f"signing certificate unreadable: {path}: {type(exc).__name__}"]
    expires = certificate.not_valid_after_utc
    if expires <= now:
        return [f"signing certificate expired on {expires:%Y-%m-%d}"]
    if expires - now < CERTIFICATE_WARNING:
        return [f"signing certificate expires soon, on {expires:%Y-%m-%d}"]
    return []


def check_mail(app: Flask) -> list[str]:
    config = app.config
    if config["MAIL_TRANSPORT"] != "smtp":
        return ["mail goes to files in instance/outbox (MAIL_TRANSPORT=file)"] if (
            config["ENV"] == "production") else []
    if not config["SMTP_HOST"]:
        return ["SMTP_HOST is not set while MAIL_TRANSPORT=smtp"]
    try:
        with smtplib.SMTP(config["SMTP_HOST"], int(config["SMTP_PORT"]), timeout=5) as client:
            client.noop()
    except (OSError, smtplib.SMTPException) as exc:
        where = f"{config['SMTP_HOST']}:{config['SMTP_PORT']}"
        return [f"SMTP unreachable at {where}: {type(exc).__name__}"]
    return []


def check_provider(app: Flask) -> list[str]:
    from portal.providers import PROVIDER_NAMES

    provider = app.config["PAYMENT_PROVIDER"]
    if provider not in PROVIDER_NAMES:
        return [f"unknown PAYMENT_PROVIDER {provider!r}"]
    if provider == "mollie" and not app.config["MOLLIE_API_KEY"]:
        return ["MOLLIE_API_KEY is not set while PAYMENT_PROVIDER=mollie"]
    if provider == "sandbox" and app.config["ENV"] == "production":
        return ["PAYMENT_PROVIDER=sandbox in production: no real payment verifies any mandate"]
    return []


def check_bank(app: Flask, now: datetime) -> list[str]:
    from portal.banks.checks import check_emandates, check_expiration
    from portal.banks.factory import BANK_NAMES

    bank = app.config["BANK"]
    if bank not in BANK_NAMES:
        return [f"unknown BANK {bank!r} (use {', '.join(BANK_NAMES)})"]
    if bank == "emandates":
        return check_emandates(app.config, now)
    if bank == "sandbox" and app.config["ENV"] == "production":
        return ["BANK=sandbox in production: the sandbox bank signs any mandate"]
    return check_expiration(app.config) if bank == "sandbox" else []


def check_public_url(app: Flask) -> list[str]:
    url = app.config["PUBLIC_BASE_URL"]
    if app.config["ENV"] == "production" and not url.startswith("https://"):
        return [f"PUBLIC_BASE_URL {url!r} is not https: links and cookies would travel in clear"]
    return []


def run_checks(app: Flask, now: datetime | None = None) -> list[str]:
    now = now or datetime.now(UTC)
    checks: list[Callable[[], list[str]]] = [
        lambda: check_database(app), lambda: check_signing_certificate(app, now),
        lambda: check_mail(app), lambda: check_provider(app), lambda: check_bank(app, now),
        lambda: check_public_url(app)]
    return [problem for check in checks for problem in check()]


@click.command("check")
def check_command() -> None:
    """Report every misconfiguration at once; exit 1 if there is any."""
    from portal import create_app

    problems: list[str] = []
    socket.setdefaulttimeout(10)
    app = create_app(problems=problems)
    problems += run_checks(app)
    mode = app.config["ENV"]
    if not problems:
        click.echo(f"configuration OK ({mode})")
        return
    for problem in problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    click.echo(f"{len(problems)} problem(s) found ({mode})", err=True)
    raise SystemExit(1)
