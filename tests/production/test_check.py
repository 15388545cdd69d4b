"""`flask --app portal check` finds each misconfiguration, one at a time, and passes when none."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from click.testing import CliRunner
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID
from sqlalchemy.orm import Session

from portal.checks import check_command
from portal.db import make_engine
from signing import DevelopmentCa, LocalTimestampAuthority, load_or_create_development_pki
from signing.pki import write_pkcs12
from tests.pgcluster import free_port
from tests.tsa_server import RunningTsa, serve_tsa

#: Production refuses weak keys (32 random bytes at least).
SECRET_KEY, DATA_KEY, AUDIT_KEY = (secrets.token_urlsafe(32) for _ in range(3))


class _Sink:
    async def handle_DATA(self, server, session, envelope):
        return "250 OK"


@pytest.fixture(scope="module")
def smtp_port() -> Iterator[int]:
    controller = Controller(_Sink(), hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller.port
    controller.stop()


@pytest.fixture(scope="module")
def tsa(development_pki: Path) -> Iterator[RunningTsa]:
    """A TSA on loopback that wants credentials, with a certificate of the development CA."""
    pki = load_or_create_development_pki(development_pki)
    with serve_tsa(LocalTimestampAuthority(pki.timestamping, [pki.ca.root]),
                   username="portal", password="tsa-secret") as running:
        yield running


@pytest.fixture(scope="module")
def tsa_roots(development_pki: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    pki = load_or_create_development_pki(development_pki)
    path = tmp_path_factory.mktemp("tsa") / "tsa-ca.pem"
    path.write_bytes(pki.ca.certificate.public_bytes(serialization.Encoding.PEM))
    return path


def _certificate(path: Path, valid_for: timedelta) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Portal seal")])
    now = datetime.now(UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(days=400)).not_valid_after(now + valid_for)
            .sign(key, hashes.SHA256()))
    path.write_bytes(pkcs12.serialize_key_and_certificates(
        b"seal", key, cert, None, serialization.BestAvailableEncryption(b"pw")))


@pytest.fixture
def production(tmp_path: Path, smtp_port: int, tsa: RunningTsa, tsa_roots: Path,
               sqlite_template: Path) -> dict[str, str]:
    """A complete, correct production configuration (on a copy of the session's migrated
    database: migrating is tests/test_migrations.py's concern)."""
    database = tmp_path / "portal.sqlite3"
    shutil.copyfile(sqlite_template, database)
    _certificate(tmp_path / "seal.p12", timedelta(days=365))
    return {
        "PORTAL_INSTANCE_PATH": str(tmp_path), "PORTAL_ENV": "production",
        "PORTAL_SECRET_KEY": SECRET_KEY, "PORTAL_DATA_KEY": DATA_KEY, "PORTAL_AUDIT_KEY": AUDIT_KEY,
        "PORTAL_DATABASE_URL": f"sqlite:///{database}",
        "PORTAL_SEAL_PKCS12_PATH": str(tmp_path / "seal.p12"), "PORTAL_SEAL_PASSPHRASE": "pw",
        "PORTAL_MAIL_TRANSPORT": "smtp", "PORTAL_SMTP_HOST": "127.0.0.1",
        "PORTAL_SMTP_PORT": str(smtp_port), "PORTAL_PAYMENT_PROVIDER": "mollie",
        "PORTAL_MOLLIE_API_KEY": "live_abcdefghijklmnopqrstuvwxyz12",
        "PORTAL_PUBLIC_BASE_URL": "https://portal.example",
        "PORTAL_BANK": "none",  # tests/banks/test_check.py checks a real acquirer's settings
        "PORTAL_RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379/0",
        "PORTAL_TSA_URL": tsa.url, "PORTAL_TSA_USERNAME": "portal",
        "PORTAL_TSA_PASSWORD": "tsa-secret", "PORTAL_TSA_TRUST_ROOTS_PATH": str(tsa_roots),
    }


def _check(env: dict[str, str], monkeypatch: pytest.MonkeyPatch):
    for name in [n for n in list(__import__("os").environ)
                 if n.startswith("PORTAL_") or n == "GUNICORN_CMD_ARGS"]:
        monkeypatch.delenv(name)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return CliRunner().invoke(check_command, catch_exceptions=False)


def test_a_correct_production_configuration_passes(production, monkeypatch) -> None:
    result = _check(production, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "configuration OK (production)" in result.output
    assert "WARNING" not in result.output


def _drop(env: dict[str, str], *names: str) -> dict[str, str]:
    return {k: v for k, v in env.items() if k not in names}


@pytest.mark.parametrize(("change", "expected"), [
    (lambda e, p: _drop(e, "PORTAL_SECRET_KEY"), "PORTAL_SECRET_KEY is not set"),
    (lambda e, p: _drop(e, "PORTAL_DATA_KEY"), "PORTAL_DATA_KEY is not set"),
    (lambda e, p: _drop(e, "PORTAL_AUDIT_KEY"), "PORTAL_AUDIT_KEY is not set"),
    (lambda e, p: {**e, "PORTAL_SECRET_KEY": "x"}, "PORTAL_SECRET_KEY is too weak"),
    (lambda e, p: {**e, "PORTAL_DATA_KEY": "d" * 40}, "PORTAL_DATA_KEY is too weak"),
    (lambda e, p: {**e, "PORTAL_SECRET_KEY_FALLBACKS": '["old-key"]'},
     "PORTAL_SECRET_KEY_FALLBACKS[0] is too weak"),
    (lambda e, p: {**e, "PORTAL_DATABASE_URL": f"sqlite:///{p}/nowhere/x.sqlite3"},
     "database unreachable"),
    (lambda e, p: {**e, "PORTAL_DATABASE_URL": f"sqlite:///{p}/empty.sqlite3"},
     "database is not migrated"),
    (lambda e, p: {**e, "PORTAL_DATABASE_URL":
                   f"postgresql+psycopg://nobody@127.0.0.1:{free_port()}/portal"},
     "database unreachable"),
    (lambda e, p: {**e, "PORTAL_SEAL_PKCS12_PATH": f"{p}/missing.p12"},
     "signing certificate missing"),
    (lambda e, p: {**e, "PORTAL_SEAL_PASSPHRASE": "wrong"}, "signing certificate unreadable"),
    ("expiring", "signing certificate expires soon"),
    ("no root", "has no root certificate"),
    (lambda e, p: {**e, "PORTAL_SMTP_PORT": str(free_port())}, "SMTP unreachable"),
    (lambda e, p: _drop(e, "PORTAL_MOLLIE_API_KEY"), "MOLLIE_API_KEY is not set"),
    (lambda e, p: _drop(e, "PORTAL_PAYMENT_PROVIDER", "PORTAL_MOLLIE_API_KEY"),
     "PORTAL_PAYMENT_PROVIDER=sandbox while PORTAL_ENV=production"),
    (lambda e, p: {**e, "PORTAL_PUBLIC_BASE_URL": "http://portal.example"}, "is not https"),
    (lambda e, p: _drop(e, "PORTAL_TSA_URL"), "PORTAL_TSA_URL is not set"),
    (lambda e, p: {**e, "PORTAL_TSA_URL": "ftp://tsa.example"}, "is not an http(s) URL"),
    (lambda e, p: {**e, "PORTAL_TSA_PASSWORD": "wrong"}, "gave no timestamp"),
    (lambda e, p: _drop(e, "PORTAL_TSA_PASSWORD"), "must be set together"),
    (lambda e, p: {**e, "PORTAL_TSA_URL": f"http://127.0.0.1:{free_port()}/tsa"},
     "gave no timestamp"),
    (lambda e, p: _drop(e, "PORTAL_TSA_TRUST_ROOTS_PATH"), "not trusted for timestamps"),
    (lambda e, p: {**e, "PORTAL_TSA_TRUST_ROOTS_PATH": f"{p}/missing.pem"},
     "TSA trust roots unreadable"),
    (lambda e, p: {**e, "PORTAL_ARCHIVE_RENEWAL_DAYS": "5000"}, "due for renewal at once"),
])
def test_each_misconfiguration_is_reported_alone(production, monkeypatch, tmp_path,
                                                  change, expected) -> None:
    if change == "expiring":
        _certificate(tmp_path / "seal.p12", timedelta(days=10))
        env = production
    elif change == "no root":  # a CA-issued seal, its chain left out of the file
        (tmp_path / "seal.p12").unlink()
        now = datetime.now(UTC)
        ca = DevelopmentCa.create(now)
        write_pkcs12(tmp_path / "seal.p12", ca.issue_seal("Portal seal", now, now + timedelta(
            days=365)), passphrase=b"pw")
        env = _drop(production, "PORTAL_TSA_TRUST_ROOTS_PATH")
    else:
        env = change(production, tmp_path)
    result = _check(env, monkeypatch)
    problems = [line for line in result.output.splitlines() if line.startswith("PROBLEM")]
    assert result.exit_code == 1
    assert len(problems) == 1 and expected in problems[0], result.output


def test_a_staging_site_on_the_sandbox_passes_in_test_mode(production, monkeypatch) -> None:
    env = {**_drop(production, "PORTAL_PAYMENT_PROVIDER", "PORTAL_MOLLIE_API_KEY"),
           "PORTAL_SANDBOX_IN_PRODUCTION": "true"}
    result = _check(env, monkeypatch)
    assert result.exit_code == 0, result.output
    assert "configuration OK (production, test mode: sandbox payments)" in result.output


def test_all_problems_are_listed_together(production, monkeypatch) -> None:
    env = _drop(production, "PORTAL_SECRET_KEY", "PORTAL_MOLLIE_API_KEY")
    env["PORTAL_PUBLIC_BASE_URL"] = "http://portal.example"
    result = _check(env, monkeypatch)
    assert result.exit_code == 1 and "3 problem(s) found" in result.output


def _with_plain_http_endpoint(env: dict[str, str], tmp_path: Path) -> dict[str, str]:
    from portal.audit.keys import AuditKeyring
    from portal.crypto import FieldCipher
    from portal.merchants.service import create_merchant
    from portal.webhooks.secrets import set_secrets
    from tests.factories import merchant_details

    engine = make_engine(env["PORTAL_DATABASE_URL"])
    keys = {"cipher": FieldCipher(env["PORTAL_DATA_KEY"]),
            "audit_keys": AuditKeyring(env["PORTAL_AUDIT_KEY"])}
    with Session(engine, info=keys) as session:
        merchant = create_merchant(session, merchant_details())
        merchant.webhook_url = "http://erp.example/hooks"
        set_secrets(session, merchant, "whsec_x")
        session.commit()
    engine.dispose()
    return env


@pytest.mark.parametrize(("change", "expected"), [
    (lambda e, p: {**e, "PORTAL_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true"},
     "WEBHOOK_ALLOW_PRIVATE_NETWORKS=true"),
    (_with_plain_http_endpoint, "1 webhook endpoint(s) over plain http:// (mer_"),
    (lambda e, p: {**e, "PORTAL_TRUSTED_PROXIES": "1", "PORTAL_BIND": "0.0.0.0:8000"},
     "TRUSTED_PROXIES=1 while gunicorn listens on 0.0.0.0:8000"),
    (lambda e, p: {**e, "PORTAL_TRUSTED_PROXIES": "1", "GUNICORN_CMD_ARGS": "-b [::]:8000"},
     "can forge X-Forwarded-For"),
    (lambda e, p: {**e, "PORTAL_RATELIMIT_STORAGE_URI": "memory://", "PORTAL_WEB_WORKERS": "3"},
     "memory:// with 3 gunicorn workers"),
])
def test_each_weakening_setting_is_a_warning(production, monkeypatch, tmp_path,
                                            change, expected) -> None:
    result = _check(change(production, tmp_path), monkeypatch)
    warnings = [line for line in result.output.splitlines() if line.startswith("WARNING")]
    assert result.exit_code == 0 and "PROBLEM" not in result.output, result.output
    assert len(warnings) == 1 and expected in warnings[0], result.output


@pytest.mark.parametrize("env", [
    {"PORTAL_TRUSTED_PROXIES": "1", "PORTAL_BIND": "127.0.0.1:8000"},
    {"PORTAL_TRUSTED_PROXIES": "1", "PORTAL_BIND": "unix:/run/portal.sock"},
    {"PORTAL_RATELIMIT_STORAGE_URI": "memory://", "PORTAL_WEB_WORKERS": "1"},
])
def test_the_same_settings_where_they_are_safe_warn_of_nothing(production, monkeypatch,
                                                               env) -> None:
    result = _check({**production, **env}, monkeypatch)
    assert result.exit_code == 0 and "WARNING" not in result.output, result.output
