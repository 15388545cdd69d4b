"""Which addresses a webhook may reach: IPv6 forms that embed an IPv4 address are judged by it,
at configure time and again for the address each connection goes to (DNS rebinding)."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.webhooks import addresses
from portal.webhooks.addresses import is_public_address
from portal.webhooks.sender import Timeouts, post
from portal.webhooks.service import EndpointError, configure_endpoint
from tests.factories import make_merchant
from tests.webhooks.receiver import Receiver

HEADERS = {"content-type": "application/json", "webhook-id": "evt_1"}


def _teredo(server: str, client: str) -> str:
    """A Teredo address (RFC 4380): the client's IPv4 address is stored inverted."""
    value = ((0x20010000 << 96) | (int(ipaddress.IPv4Address(server)) << 64)
             | (0x8000 << 48) | (0x63BF << 32) | (int(ipaddress.IPv4Address(client)) ^ 0xFFFFFFFF))
    return str(ipaddress.IPv6Address(value))


REFUSED = [
    "127.0.0.1", "10.0.0.8", "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1",
    "240.0.0.1", "255.255.255.255", "::1", "::", "fe80::1", "fc00::1", "ff02::1", "2001:db8::1",
    "::127.0.0.1",                      # IPv4-compatible (Python 3.11: is_global True)
    "::ffff:127.0.0.1", "::ffff:10.0.0.8",  # IPv4-mapped
    "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe",  # NAT64, well-known prefix (is_global True)
    "64:ff9b:1::7f00:1",                # local-use NAT64 (RFC 8215), IPv4 in the last 32 bits
    "64:ff9b:1:7f00:1::",               # … or after a /48 prefix (RFC 6052 layout)
    "2002:7f00:1::1", "2002:a9fe:a9fe::",  # 6to4 (is_global True)
    _teredo("65.54.227.120", "127.0.0.1"), _teredo("10.0.0.1", "8.8.8.8"),  # Teredo
]
ALLOWED = ["8.8.8.8", "93.184.216.34", "2606:4700:4700::1111", "::ffff:8.8.8.8",
           "64:ff9b::808:808", "2002:808:808::1", _teredo("65.54.227.120", "8.8.4.4")]


@pytest.mark.parametrize("address", REFUSED)
def test_non_public_addresses_are_refused_in_every_spelling(address: str) -> None:
    assert not is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ALLOWED)
def test_public_addresses_pass_also_when_embedded(address: str) -> None:
    assert is_public_address(ipaddress.ip_address(address))


@pytest.mark.parametrize("url", ["http://[::127.0.0.1]/hooks", "http://[64:ff9b::7f00:1]/hooks",
                                 "https://[::ffff:a9fe:a9fe]/", "http://[2002:7f00:1::1]:8080/",
                                 "http://localhost:8000/hooks", "http://127.1/hooks",
                                 "http://2130706433/hooks"])
def test_configure_refuses_embedded_and_resolved_non_public_addresses(
        app: Flask, session: Session, url: str) -> None:
    merchant = make_merchant(session)
    with app.app_context(), pytest.raises(EndpointError, match="public address"):
        configure_endpoint(session, merchant, url)


def test_configure_accepts_a_name_that_does_not_resolve_yet(app: Flask, session: Session) -> None:
    merchant = make_merchant(session)
    with app.app_context():
        assert configure_endpoint(session, merchant, "https://hooks.invalid/portal")


@pytest.mark.parametrize("host", ["[::127.0.0.1]", "[64:ff9b::7f00:1]", "[::ffff:127.0.0.1]"])
def test_the_sender_never_connects_to_embedded_loopback(receiver: Receiver, host: str) -> None:
    url = receiver.url.replace("127.0.0.1", host)
    outcome = post(url, b"{}", HEADERS, Timeouts(), allow_private=False)
    assert outcome.error == "BlockedAddress" and receiver.requests == []


def _fake_dns(monkeypatch: pytest.MonkeyPatch, name: str, answers: list[str]) -> list[str]:
    """``name`` resolves to each of ``answers`` in turn (the last one from then on); every
    other name resolves as usual. Returns the log of lookups of ``name``."""
    real = socket.getaddrinfo
    lookups: list[str] = []

    def getaddrinfo(host, port, *args, **kwargs):
        if (host.decode() if isinstance(host, bytes) else host) != name:
            return real(host, port, *args, **kwargs)
        address = answers[min(len(lookups), len(answers) - 1)]
        lookups.append(address)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return lookups


def test_a_name_rebinding_to_loopback_after_the_check_is_refused_at_connect(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    lookups = _fake_dns(monkeypatch, "rebind.test", ["93.184.216.34", "127.0.0.1"])
    url = receiver.url.replace("127.0.0.1", "rebind.test")
    outcome = post(url, b"{}", HEADERS, Timeouts(), allow_private=False)
    assert outcome.error == "BlockedAddress" and "127.0.0.1" in outcome.excerpt
    assert lookups == ["93.184.216.34", "127.0.0.1"] and receiver.requests == []


def test_each_connection_goes_to_the_address_that_was_judged(
        receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> None:
    """Resolved once for the connection, connected by address: a third answer is never used."""
    monkeypatch.setattr(addresses, "is_public_address", lambda address: True)
    lookups = _fake_dns(monkeypatch, "pinned.test", ["127.0.0.1", "127.0.0.1", "192.0.2.1"])
    url = receiver.url.replace("127.0.0.1", "pinned.test")
    outcome = post(url, b"{}", HEADERS, Timeouts(connect=2, total=5), allow_private=False)
    assert outcome.accepted, outcome
    assert len(lookups) == 2 and receiver.requests[0].headers["host"].startswith("pinned.test")
