"""``flask --app portal check``: every misconfiguration at once, non-zero exit if any; settings
that only weaken a production portal are listed as warnings.

Registered as a ``flask.commands`` entry point, so it runs even where the app itself would
refuse to start (a production instance without its keys, or on a sandbox)."""

from __future__ import annotations

import os
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
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from portal import serving
from portal.adapters import get_adapters
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
        from portal.cli import flask_command

        hint = f"run `{flask_command()} --app portal db upgrade`"
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
    except Exception as exc:  # noqa: BLE001 - unreadable file, wrong passphrase: both are findings
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


def check_bank(app: Flask, now: datetime) -> list[str]:
    """A real acquirer's configuration, every mistake named (the adapters refuse an unknown
    ``BANK`` and the sandbox bank in production themselves)."""
    from portal.banks.checks import check_emandates, check_expiration
    from portal.banks.factory import bank_name

    bank = bank_name(app.config)
    if bank == "emandates":
        return check_emandates(app.config, now)
    return check_expiration(app.config) if bank == "sandbox" else []


def check_public_url(app: Flask) -> list[str]:
    url = app.config["PUBLIC_BASE_URL"]
    if app.config["ENV"] == "production" and not url.startswith("https://"):
        return [f"PUBLIC_BASE_URL {url!r} is not https: links and cookies would travel in clear"]
    return []


def check_sealing(app: Flask, now: datetime) -> list[str]:
    from portal.documents.sealing import check_sealing as check

    return check(app, now)


def hardening_warnings(app: Flask, environ: dict[str, str] | None = None) -> list[str]:
    """Settings that work but weaken a production portal; judged from the configuration, the
    database and the gunicorn settings in the environment (``portal/serving.py``)."""
    if app.config["ENV"] != "production":
        return []
    environ = dict(os.environ if environ is None else environ)
    config = app.config
    warnings = []
    if config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"]:
        warnings.append("WEBHOOK_ALLOW_PRIVATE_NETWORKS=true: merchants' webhooks may reach "
                        "loopback, private and link-local addresses (cloud metadata, internal "
                        "services); meant for a local test receiver only")
    plain = _plain_http_endpoints(app)
    if plain:
        shown = ", ".join(plain[:5]) + (", …" if len(plain) > 5 else "")
        warnings.append(f"{len(plain)} webhook endpoint(s) over plain http:// ({shown}): "
                        f"events travel unencrypted; ask these merchants for https://")
    outside = [bind for bind in serving.binds(environ) if serving.reachable_from_outside(bind)]
    if int(config["TRUSTED_PROXIES"]) and outside:
        warnings.append(f"TRUSTED_PROXIES={config['TRUSTED_PROXIES']} while gunicorn listens on "
                        f"{', '.join(outside)}: a client reaching it without the proxy can forge "
                        f"X-Forwarded-For (rate limits, signing evidence); bind to 127.0.0.1 or a "
                        f"socket the proxy alone reaches")
    workers = serving.web_workers(environ)
    if str(config["RATELIMIT_STORAGE_URI"]).startswith("memory://") and workers > 1:
        warnings.append(f"RATELIMIT_STORAGE_URI=memory:// with {workers} gunicorn workers: each "
                        f"counts alone, so every limit is {workers} times looser; use redis://")
    return warnings


def _plain_http_endpoints(app: Flask) -> list[str]:
    """Merchants (public ids) whose webhook endpoint is http://; [] if the database cannot say."""
    from portal.db import state
    from portal.merchants.models import Merchant

    try:
        with state(app).factory() as session:
            return list(session.scalars(select(Merchant.public_id).where(
                Merchant.webhook_url.startswith("http://", autoescape=True))
                .order_by(Merchant.id)))
    except SQLAlchemyError:
        return []  # unreachable or not migrated: check_database says so


def run_checks(app: Flask, now: datetime | None = None) -> list[str]:
    now = now or datetime.now(UTC)
    checks: list[Callable[[], list[str]]] = [
        lambda: check_database(app), lambda: check_signing_certificate(app, now),
        lambda: check_sealing(app, now),
        lambda: check_mail(app), lambda: check_bank(app, now), lambda: check_public_url(app)]
    return [problem for check in checks for problem in check()]


@click.command("check")
def check_command() -> None:
    """Report every misconfiguration at once; exit 1 if there is any."""
    from portal import create_app

    problems: list[str] = []  # the app's own refusals (keys, adapters, sandboxes) come first
    socket.setdefaulttimeout(10)
    app = create_app(problems=problems)
    problems += run_checks(app)
    mode = app.config["ENV"]
    if sandboxes := get_adapters(app).sandboxes:
        mode += f", test mode: sandbox {', '.join(sorted(sandboxes))}"
    for warning in hardening_warnings(app):
        click.echo(f"WARNING: {warning}", err=True)
    if not problems:
        click.echo(f"configuration OK ({mode})")
        return
    for problem in problems:
        click.echo(f"PROBLEM: {problem}", err=True)
    click.echo(f"{len(problems)} problem(s) found ({mode})", err=True)
    raise SystemExit(1)
