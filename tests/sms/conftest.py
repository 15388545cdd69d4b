"""SMS fixtures: the gateway stub, and the clock shared with the mail tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask

from tests.mail.conftest import clock  # noqa: F401  (fixture)
from tests.reconfigure import reconfigure
from tests.sms.gateway_stub import GatewayStub


@pytest.fixture
def gateway() -> Iterator[GatewayStub]:
    stub = GatewayStub().start()
    yield stub
    stub.stop()


@pytest.fixture
def http_sms(app: Flask, gateway: GatewayStub) -> GatewayStub:
    """The app sends SMS through the stub (SMS_TRANSPORT=http)."""
    reconfigure(app, SMS_TRANSPORT="http", SMS_API_URL=gateway.url, SMS_API_KEY="test_key",
                SMS_ORIGINATOR="Bakkerij", SMS_TIMEOUT_SECONDS=2.0)
    return gateway
