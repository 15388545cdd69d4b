"""Fixtures for the bank tests: the portal (and its sandbox bank) on a real port, an iDx client
that records every message it exchanges, a clock the test moves, a debtor at the bank's page."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import httpx
import pytest
from flask import Flask

from portal.banks.client import IdxBank, IdxSettings
from portal.banks.factory import sandbox_keys
from portal.banks.sandbox.service import MERCHANT_ID, SUB_ID
from portal.banks.xml import parse_message, validate_message
from portal.clock import utcnow
from tests.live_server import serve

CSRF = re.compile(r'name="(?:[a-z]+-)?csrf_token" type="hidden" value="([^"]+)"')


class Clock:
    """``app.config["CLOCK"]``: frozen until a test moves it."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Recorder(httpx.BaseTransport):
    """Passes requests on and keeps both sides of each exchange, to validate them all."""

    inner: httpx.BaseTransport = field(default_factory=httpx.HTTPTransport)
    messages: list[bytes] = field(default_factory=list)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.messages.append(request.read())
        response = self.inner.handle_request(request)
        body = response.read()
        self.messages.append(body)
        return httpx.Response(response.status_code, headers=response.headers, content=body)

    def assert_all_valid(self) -> int:
        for message in self.messages:
            validate_message(parse_message(message))
        return len(self.messages)


@pytest.fixture
def backend() -> str:
    """The sandbox bank's protocol does not depend on the database: SQLite is enough here."""
    return "sqlite"


@pytest.fixture
def clock(app: Flask) -> Clock:
    clock = Clock(utcnow())
    app.config.update(CLOCK=clock, SANDBOX_BANK_PENDING_SECONDS=30)
    return clock


@pytest.fixture
def live(app: Flask, clock: Clock) -> Iterator[str]:
    with serve(app) as base_url:
        yield base_url


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def sandbox_settings(app: Flask, base_url: str, **overrides: object) -> IdxSettings:
    keys = sandbox_keys(app.config, app.instance_path)
    settings: dict[str, object] = {
        "name": "sandbox", "directory_url": f"{base_url}/sandbox-bank/idx/directory",
        "transaction_url": f"{base_url}/sandbox-bank/idx/transaction",
        "status_url": f"{base_url}/sandbox-bank/idx/status", "merchant_id": MERCHANT_ID,
        "sub_id": SUB_ID, "signing": keys.merchant,
        "acquirer_certificates": (keys.acquirer.certificate,)}
    settings.update(overrides)
    return IdxSettings(**settings)  # type: ignore[arg-type]


@pytest.fixture
def bank(app: Flask, live: str, clock: Clock, recorder: Recorder) -> Iterator[IdxBank]:
    client = IdxBank(sandbox_settings(app, live), client=httpx.Client(transport=recorder),
                     clock=clock)
    yield client
    client.close()


def decide_at_bank(authentication_url: str, decision: str, *, iban: str | None = None,
                   signer: str = "J. de Vries") -> httpx.Response:
    """Act as the debtor on the sandbox bank's page: log in, then choose."""
    with httpx.Client(follow_redirects=False, timeout=10) as browser:
        page = browser.get(authentication_url)
        assert page.status_code == 200, page.text[:300]
        review = browser.post(authentication_url, data={
            "step": "login", "login-csrf_token": CSRF.search(page.text).group(1),
            "login-user": signer, "login-pin": "12345"})
        assert review.status_code == 200, review.text[:300]
        iban_value = iban or re.search(r'id="decide-debtor_iban"[^>]*value="([^"]*)"',
                                       review.text).group(1)
        return browser.post(authentication_url, data={
            "decide-csrf_token": CSRF.search(review.text).group(1),
            "decide-debtor_iban": iban_value, "decide-debtor_name": "De Vries Holding B.V.",
            "decide-signer_name": signer, "decide-decision": decision})
