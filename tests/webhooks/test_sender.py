"""The HTTP sender on its own: bounded reads, no cookies carried over, safe inside event loops,
non-public addresses refused by name too."""

from __future__ import annotations

import asyncio

from portal.webhooks.sender import EXCERPT_CHARS, Timeouts, post
from tests.webhooks.receiver import Receiver

HEADERS = {"content-type": "application/json", "webhook-id": "evt_1"}


def test_a_large_answer_is_cut_to_the_excerpt(receiver: Receiver) -> None:
    receiver.body = "é".encode() * 1_000_000
    outcome = post(receiver.url, b"{}", HEADERS, Timeouts(), allow_private=True)
    assert outcome.accepted and len(outcome.excerpt) == EXCERPT_CHARS


def test_cookies_set_by_one_endpoint_are_never_sent_back(receiver: Receiver) -> None:
    receiver.response_headers = {"set-cookie": "session=abc; Path=/"}
    post(receiver.url, b"{}", HEADERS, Timeouts(), allow_private=True)
    post(receiver.url, b"{}", HEADERS, Timeouts(), allow_private=True)
    assert "cookie" not in receiver.requests[1].headers


def test_it_works_when_called_from_inside_a_running_event_loop(receiver: Receiver) -> None:
    async def caller() -> int | None:
        return post(receiver.url, b"{}", HEADERS, Timeouts(), allow_private=True).http_status
    assert asyncio.run(caller()) == 200


def test_names_resolving_to_loopback_are_refused(receiver: Receiver) -> None:
    url = receiver.url.replace("127.0.0.1", "localhost")
    outcome = post(url, b"{}", HEADERS, Timeouts(), allow_private=False)
    assert outcome.error == "BlockedAddress" and receiver.requests == []
