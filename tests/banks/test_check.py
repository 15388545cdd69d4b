"""`flask check` with a real acquirer: a complete eMandates configuration passes, and each
mistake in it is named."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization

from portal.banks.certificates import SigningPair, create_signing_pair
from tests.production.test_check import (  # noqa: F401
    _check,
    production,
    smtp_port,
    tsa,
    tsa_roots,
)

pytestmark = pytest.mark.slow


def _write(folder: Path, name: str, pair: SigningPair, passphrase: bytes | None = None) -> None:
    encryption = (serialization.BestAvailableEncryption(passphrase) if passphrase
                  else serialization.NoEncryption())
    (folder / f"{name}.key").write_bytes(pair.key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption))
    (folder / f"{name}.pem").write_bytes(pair.certificate.public_bytes(serialization.Encoding.PEM))


@pytest.fixture(scope="module")
def pairs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("emandates-keys")
    _write(folder, "ours", create_signing_pair("Merchant eMandates"), b"secret")
    _write(folder, "acquirer", create_signing_pair("Acquirer"))
    _write(folder, "next", create_signing_pair("Acquirer next"))
    _write(folder, "stranger", create_signing_pair("Someone else"))
    soon = create_signing_pair("Acquirer expiring",
                               now=datetime.now(UTC) - timedelta(days=3650 - 10))
    _write(folder, "expiring", soon)
    return folder


@pytest.fixture
def emandates(production: dict[str, str], pairs: Path) -> dict[str, str]:  # noqa: F811
    return {
        **production, "PORTAL_BANK": "emandates",
        "PORTAL_EMANDATES_DIRECTORY_URL": "https://acquirer.example/emandates/directory",
        "PORTAL_EMANDATES_TRANSACTION_URL": "https://acquirer.example/emandates/transaction",
        "PORTAL_EMANDATES_STATUS_URL": "https://acquirer.example/emandates/status",
        "PORTAL_EMANDATES_MERCHANT_ID": '"0020000001"', "PORTAL_EMANDATES_SUB_ID": "0",
        "PORTAL_EMANDATES_SIGNING_KEY_PATH": str(pairs / "ours.key"),
        "PORTAL_EMANDATES_SIGNING_KEY_PASSPHRASE": "secret",
        "PORTAL_EMANDATES_SIGNING_CERTIFICATE_PATH": str(pairs / "ours.pem"),
        "PORTAL_EMANDATES_ACQUIRER_CERTIFICATE_PATH": str(pairs / "acquirer.pem"),
        "PORTAL_EMANDATES_ACQUIRER_ALTERNATIVE_CERTIFICATE_PATH": str(pairs / "next.pem"),
    }


def test_a_complete_acquirer_configuration_passes(emandates, monkeypatch) -> None:
    result = _check(emandates, monkeypatch)
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize(("change", "problem"), [
    ({"PORTAL_EMANDATES_STATUS_URL": ""}, "EMANDATES_STATUS_URL is not set"),
    ({"PORTAL_EMANDATES_DIRECTORY_URL": "http://acquirer.example/d"}, "is not https"),
    ({"PORTAL_EMANDATES_MERCHANT_ID": '"12345"'}, "10-digit contract id"),
    ({"PORTAL_EMANDATES_SUB_ID": "1000000"}, "EMANDATES_SUB_ID must be a number"),
    ({"PORTAL_EMANDATES_SIGNING_KEY_PASSPHRASE": "wrong"}, "passphrase is wrong"),
    ({"PORTAL_EMANDATES_SIGNING_CERTIFICATE_PATH": "{pairs}/stranger.pem"},
     "does not belong to certificate"),
    ({"PORTAL_EMANDATES_SIGNING_KEY_PATH": "{pairs}/missing.key"}, "cannot be read"),
    ({"PORTAL_EMANDATES_ACQUIRER_CERTIFICATE_PATH": ""}, "cannot be verified"),
    ({"PORTAL_EMANDATES_ACQUIRER_ALTERNATIVE_CERTIFICATE_PATH": "{pairs}/ours.key"},
     "not a PEM or DER certificate"),
    ({"PORTAL_EMANDATES_ACQUIRER_CERTIFICATE_PATH": "{pairs}/expiring.pem"}, "expires soon"),
    ({"PORTAL_EMANDATES_EXPIRATION": '{"CORE": "PT1H", "B2B": "P8D"}'},
     "EMANDATES_EXPIRATION[B2B] must be a duration"),
    ({"PORTAL_BANK": "ideal"}, "PORTAL_BANK='ideal' is unknown"),
    ({"PORTAL_BANK": "sandbox"}, "PORTAL_BANK=sandbox while PORTAL_ENV=production"),
])
def test_each_acquirer_mistake_is_named(emandates, pairs, monkeypatch, change, problem) -> None:
    env = {**emandates, **{k: v.replace("{pairs}", str(pairs)) for k, v in change.items()}}
    result = _check(env, monkeypatch)
    assert result.exit_code == 1
    assert problem in result.output, result.output


def test_bank_signing_defaults_to_the_sandbox_in_development_and_is_off_in_production() -> None:
    from portal.banks.factory import bank_name

    assert bank_name({"ENV": "development", "BANK": None}) == "sandbox"
    assert bank_name({"ENV": "production", "BANK": None}) == "none"
    assert bank_name({"ENV": "production", "BANK": "emandates"}) == "emandates"
