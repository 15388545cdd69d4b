"""Configuration layers and key handling."""

from __future__ import annotations

import base64
import secrets
import stat
from pathlib import Path

import pytest

from portal import create_app
from portal.config import MIN_KEY_BITS, ConfigurationError, estimated_key_bits


def _app(instance: Path, monkeypatch: pytest.MonkeyPatch, **env: str):
    monkeypatch.setenv("PORTAL_INSTANCE_PATH", str(instance))
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return create_app()


def test_defaults_put_sqlite_in_the_instance_folder(tmp_path, monkeypatch) -> None:
    app = _app(tmp_path, monkeypatch)
    assert app.config["DATABASE_URL"] == f"sqlite:///{tmp_path / 'portal.sqlite3'}"
    assert app.config["INVITATION_TTL_DAYS"] == 14


def test_instance_config_overrides_defaults_and_environment_overrides_both(
        tmp_path, monkeypatch) -> None:
    (tmp_path / "config.py").write_text(
        "PUBLIC_BASE_URL = 'https://from-instance.example'\nINVITATION_TTL_DAYS = 7\n")
    app = _app(tmp_path, monkeypatch, PORTAL_PUBLIC_BASE_URL="https://from-env.example/",
               PORTAL_DATABASE_URL="postgresql+psycopg://u@db/portal")
    assert app.config["INVITATION_TTL_DAYS"] == 7
    assert app.config["PUBLIC_BASE_URL"] == "https://from-env.example"
    assert app.config["DATABASE_URL"] == "postgresql+psycopg://u@db/portal"


def test_development_generates_keys_once_and_keeps_them_private(tmp_path, monkeypatch) -> None:
    first = _app(tmp_path, monkeypatch)
    second = _app(tmp_path, monkeypatch)
    assert first.config["SECRET_KEY"] == second.config["SECRET_KEY"]
    assert len(first.config["SECRET_KEY"]) >= 40
    assert first.config["DATA_KEY"] != first.config["SECRET_KEY"]
    mode = stat.S_IMODE((tmp_path / "secret_key").stat().st_mode)
    assert mode == 0o600


def test_production_without_secret_refuses_to_start(tmp_path, monkeypatch) -> None:
    with pytest.raises(ConfigurationError, match="PORTAL_SECRET_KEY is not set"):
        _app(tmp_path, monkeypatch, PORTAL_ENV="production")
    assert not (tmp_path / "secret_key").exists()


STRONG = "TCXNUHOqgie6gl126tUVMY1r9R4NKZwbK6_N2rRq830"  # secrets.token_urlsafe(32)


def test_production_with_keys_starts(tmp_path, monkeypatch) -> None:
    app = _app(tmp_path, monkeypatch, PORTAL_ENV="production", PORTAL_SECRET_KEY=STRONG,
               PORTAL_DATA_KEY=secrets.token_hex(32), PORTAL_AUDIT_KEY=secrets.token_urlsafe(32),
               PORTAL_PAYMENT_PROVIDER="mollie", PORTAL_MOLLIE_API_KEY="live_abcdefghijklmnopqrstuvwxyz12")
    assert app.config["SECRET_KEY"] == STRONG


@pytest.mark.parametrize(("setting", "value"), [
    ("PORTAL_SECRET_KEY", "x"), ("PORTAL_DATA_KEY", "x"), ("PORTAL_SECRET_KEY", "s" * 40),
    ("PORTAL_DATA_KEY", "change-me"), ("PORTAL_SECRET_KEY", "abcdefghijklmnop" * 4),
    ("PORTAL_SECRET_KEY", "lsl9Ic2cTd2a-zoKKsQwNg"),  # 16 random bytes
    ("PORTAL_DATA_KEY", "a3f6426bcc795e66d19c2fd30a570b1d"),
    ("PORTAL_SECRET_KEY_FALLBACKS", '["old"]'), ("PORTAL_DATA_KEY_FALLBACKS", f'["{STRONG}", "x"]'),
    ("PORTAL_AUDIT_KEY", "x"), ("PORTAL_AUDIT_KEY_FALLBACKS", '["old"]'),
])
def test_production_refuses_keys_under_32_bytes_of_randomness(tmp_path, monkeypatch,
                                                              setting: str, value: str) -> None:
    keys = {"PORTAL_SECRET_KEY": secrets.token_urlsafe(32), "PORTAL_DATA_KEY": STRONG,
            "PORTAL_AUDIT_KEY": secrets.token_hex(32)}
    with pytest.raises(ConfigurationError, match=r"too weak for production.*token_urlsafe\(32\)"):
        _app(tmp_path, monkeypatch, PORTAL_ENV="production", **{**keys, setting: value})


@pytest.mark.parametrize("make", [lambda: secrets.token_urlsafe(32), lambda: secrets.token_hex(32),
                                  lambda: base64.b64encode(secrets.token_bytes(32)).decode()])
def test_every_usual_spelling_of_32_random_bytes_is_strong_enough(make) -> None:
    assert all(estimated_key_bits(make()) >= MIN_KEY_BITS for _ in range(500))


def test_development_accepts_any_key(tmp_path, monkeypatch) -> None:
    app = _app(tmp_path, monkeypatch, PORTAL_SECRET_KEY="x", PORTAL_DATA_KEY="y")
    assert app.config["SECRET_KEY"] == "x"


def test_test_config_skips_instance_and_environment(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("PORTAL_PUBLIC_BASE_URL", "https://ignored.example")
    app = create_app({"INSTANCE_PATH": str(tmp_path), "SECRET_KEY": "x", "DATA_KEY": "y"})
    assert app.config["PUBLIC_BASE_URL"] == "http://127.0.0.1:5000"
