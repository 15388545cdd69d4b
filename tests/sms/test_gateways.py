"""The HTTP gateway against a local MessageBird-shaped stub, and the development outbox."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.clock import utcnow
from portal.sms import SmsDeferred, SmsRejected
from portal.sms.gateways import FileSmsGateway, HttpSmsGateway
from tests.mail.conftest import free_port
from tests.sms.gateway_stub import GatewayStub


def _gateway(stub: GatewayStub, timeout: float = 2.0) -> HttpSmsGateway:
    return HttpSmsGateway(stub.url, "live_key", "Bakkerij", timeout=timeout)


def test_a_message_is_posted_with_the_access_key_and_its_id_returned(
        gateway: GatewayStub) -> None:
    message_id = _gateway(gateway).send("+31612345678", "Sign here: https://p.example/s/x")

    assert message_id == "mb0001"
    [request] = gateway.requests
    assert request.path == "/messages"
    assert request.headers["authorization"] == "AccessKey live_key"
    assert request.headers["content-type"] == "application/json"
    assert request.body == {"originator": "Bakkerij", "recipients": ["31612345678"],
                            "body": "Sign here: https://p.example/s/x"}


@pytest.mark.parametrize("status", [400, 404, 410, 422])
def test_a_4xx_is_a_permanent_refusal_with_the_providers_reason(
        gateway: GatewayStub, status: int) -> None:
    gateway.status = status
    with pytest.raises(SmsRejected, match=rf"HTTP {status}: no \(correct\) recipients found"):
        _gateway(gateway).send("+31612345678", "hi")


@pytest.mark.parametrize("status", [401, 402, 403, 429, 500, 502, 503])
def test_5xx_rate_limits_and_our_own_account_trouble_are_temporary(
        gateway: GatewayStub, status: int) -> None:
    gateway.status = status
    with pytest.raises(SmsDeferred, match=f"HTTP {status}"):
        _gateway(gateway).send("+31612345678", "hi")


def test_a_gateway_that_does_not_answer_in_time_is_temporary(gateway: GatewayStub) -> None:
    gateway.hang = True
    with pytest.raises(SmsDeferred, match="timeout"):
        _gateway(gateway, timeout=0.5).send("+31612345678", "hi")
    gateway.release()


def test_a_gateway_that_is_down_is_temporary() -> None:
    down = HttpSmsGateway(f"http://127.0.0.1:{free_port()}", "k", "Bakkerij", timeout=1.0)
    with pytest.raises(SmsDeferred, match="connection failed: ConnectError"):
        down.send("+31612345678", "hi")


def test_an_accepted_answer_without_an_id_is_not_taken_as_sent(gateway: GatewayStub) -> None:
    gateway.answer = lambda: (201, {"unexpected": True})  # type: ignore[method-assign]
    with pytest.raises(SmsDeferred, match="without a message id"):
        _gateway(gateway).send("+31612345678", "hi")


def test_the_development_gateway_writes_a_text_file_per_message(tmp_path: Path) -> None:
    outbox = tmp_path / "outbox"
    message_id = FileSmsGateway(outbox, utcnow).send("+31612345678", "Tekenen: http://x/s/AbC1234567")

    [path] = outbox.glob("*.sms.txt")
    assert path.name == f"{message_id}.sms.txt"
    assert path.read_text() == ("To: +31612345678\nSegments: 1 (GSM-7, 30 units)\n\n"
                                "Tekenen: http://x/s/AbC1234567\n")
