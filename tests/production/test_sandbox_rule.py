"""Production never runs on a sandbox by accident: it refuses to start unless the site says it is
a staging site; the sandbox's pages exist only with the sandbox; and whenever a sandbox is in use,
every page says "test mode", in the customer's language."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient

from portal import create_app
from portal.adapters import allow_sandbox, get_adapters
from portal.config import DEFAULTS, ConfigurationError
from portal.db import state
from tests.conftest import app_settings
from tests.sign.driver import Journey

BANNER = "Test mode"


def _production(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, **env: str) -> Flask:
    for name, value in {"PORTAL_INSTANCE_PATH": str(tmp_path), "PORTAL_ENV": "production",
                        "PORTAL_SECRET_KEY": secrets.token_urlsafe(32),
                        "PORTAL_DATA_KEY": secrets.token_urlsafe(32),
                        "PORTAL_AUDIT_KEY": secrets.token_urlsafe(32),
                        **env}.items():
        monkeypatch.setenv(name, value)
    return create_app()


def test_production_refuses_to_start_on_the_sandbox_provider(tmp_path, monkeypatch) -> None:
    with pytest.raises(ConfigurationError) as refused:
        _production(tmp_path, monkeypatch)  # PAYMENT_PROVIDER defaults to the sandbox
    message = str(refused.value)
    assert "PORTAL_PAYMENT_PROVIDER=sandbox while PORTAL_ENV=production" in message
    assert "PORTAL_SANDBOX_IN_PRODUCTION=true" in message


def test_a_staging_site_may_run_the_sandbox_in_production_and_says_so(
        tmp_path, monkeypatch) -> None:
    app = _production(tmp_path, monkeypatch, PORTAL_SANDBOX_IN_PRODUCTION="true")
    assert get_adapters(app).sandboxes == {"payments"} and get_adapters(app).test_mode
    assert "sandbox" in app.blueprints


@pytest.mark.parametrize("kind", ["payments", "bank", "collections"])
def test_one_rule_for_every_kind_of_sandbox(kind: str) -> None:
    development = {**DEFAULTS, "ENV": "development"}
    allow_sandbox(development, kind, "PORTAL_X")  # development: fine
    with pytest.raises(ConfigurationError, match=f"built-in {kind} sandbox"):
        allow_sandbox({**development, "ENV": "production"}, kind, "PORTAL_X")
    allow_sandbox({**development, "ENV": "production", "SANDBOX_IN_PRODUCTION": True}, kind,
                  "PORTAL_X")


@pytest.fixture
def mollie_app(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    """An app configured with Mollie, the manual bank route and no bank signing from the start
    (no sandbox anywhere)."""
    app = create_app({**app_settings(database_url, tmp_path / "instance"),
                      "PAYMENT_PROVIDER": "mollie", "MOLLIE_API_KEY": "test_abcdefghijkl",
                      "COLLECTION_BANK": "manual", "BANK": "none",
                      "MOLLIE_BASE_URL": "http://127.0.0.1:9"})
    yield app
    state(app).engine.dispose()


def test_without_a_sandbox_its_pages_and_webhook_are_not_served(mollie_app: Flask) -> None:
    client = mollie_app.test_client()
    assert "sandbox" not in mollie_app.blueprints
    assert "sandbox_bank" not in mollie_app.blueprints
    assert client.get("/sandbox/checkout/tr_sbx0123456789abcdef").status_code == 404
    assert client.post("/sandbox-bank/idx/directory", data=b"<x/>").status_code == 404
    assert client.get("/sandbox-bank/authorise/0000000000000001/x").status_code == 404
    assert client.post("/providers/sandbox/webhook",
                       data={"id": "tr_sbx0123456789abcdef"}).status_code == 404
    assert BANNER not in client.get("/no-such-page").get_data(as_text=True)
    assert not get_adapters(mollie_app).test_mode


def test_every_customer_page_shows_the_test_mode_banner(journey: Journey,
                                                        client: FlaskClient) -> None:
    pages = {
        "form": journey.open(),
        "not found": client.get("/no-such-page"),
        "refused link": client.get("/sign/not-a-token"),
        "unknown short link": client.get("/s/0000000000"),
    }
    journey.follow(journey.pay("paid"))
    pages["done"] = client.get(f"{journey.path}/done")
    pages["used link"] = journey.open()
    for name, page in pages.items():
        assert 'class="test-mode"' in page.get_data(as_text=True), name


@pytest.mark.parametrize(("language", "banner"), [("nl", "Testmodus"), ("de", "Testmodus"),
                                                   ("fr", "Mode test")])
def test_the_banner_is_translated(journey: Journey, language: str, banner: str) -> None:
    text = journey.client.get(f"{journey.path}?lang={language}").get_data(as_text=True)
    assert f"<strong>{banner}</strong>" in text


def test_production_refuses_the_sandbox_bank_through_the_same_rule(tmp_path, monkeypatch) -> None:
    with pytest.raises(ConfigurationError) as refused:
        _production(tmp_path, monkeypatch, PORTAL_PAYMENT_PROVIDER="mollie",
                    PORTAL_MOLLIE_API_KEY="live_abcdefghijklmnopqrstuvwxyz12",
                    PORTAL_COLLECTION_BANK="sandbox")
    assert "PORTAL_COLLECTION_BANK=sandbox while PORTAL_ENV=production" in str(refused.value)
    staging = _production(tmp_path, monkeypatch, PORTAL_SANDBOX_IN_PRODUCTION="true")  # + Mollie
    assert get_adapters(staging).sandboxes == {"collections"} and get_adapters(staging).test_mode
    assert get_adapters(staging).collectors.bank.name == "sandbox"


def test_collectors_and_sealing_are_built_once_per_app(app: Flask) -> None:
    adapters = get_adapters(app)
    assert adapters.collectors is get_adapters(app).collectors
    assert adapters.sealing() is adapters.sealing()  # built on first use, then kept


def test_production_refuses_the_sandbox_emandates_bank_through_the_same_rule(
        tmp_path, monkeypatch) -> None:
    mollie = {"PORTAL_PAYMENT_PROVIDER": "mollie",
              "PORTAL_MOLLIE_API_KEY": "live_abcdefghijklmnopqrstuvwxyz12"}
    production = _production(tmp_path, monkeypatch, **mollie)  # bank signing off by default
    assert get_adapters(production).bank is None and not get_adapters(production).test_mode
    assert "sandbox_bank" not in production.blueprints
    with pytest.raises(ConfigurationError) as refused:
        _production(tmp_path, monkeypatch, **mollie, PORTAL_BANK="sandbox")
    assert "PORTAL_BANK=sandbox while PORTAL_ENV=production" in str(refused.value)
    assert "PORTAL_SANDBOX_IN_PRODUCTION=true" in str(refused.value)
    staging = _production(tmp_path, monkeypatch, PORTAL_SANDBOX_IN_PRODUCTION="true")
    adapters = get_adapters(staging)  # + Mollie + the sandbox bank
    assert adapters.sandboxes == {"banks"} and adapters.test_mode
    assert adapters.bank is not None and adapters.bank.name == "sandbox"
    assert "sandbox_bank" in staging.blueprints


def test_the_sandbox_bank_is_a_sandbox_of_the_development_app(app: Flask) -> None:
    adapters = get_adapters(app)
    assert adapters.bank is not None and adapters.bank.name == "sandbox"
    assert "banks" in adapters.sandboxes and "sandbox_bank" in app.blueprints
