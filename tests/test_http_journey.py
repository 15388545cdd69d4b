"""The journey's light HTTP client reads responses as a browser would: cookies set, scoped and
deleted, bodies read in full (a short one is an error), chunked bodies decoded."""

from __future__ import annotations

import pytest

from tests.http_journey import JourneyClient, JourneyError


def answer(client: JourneyClient, raw: bytes):
    return client._parse(raw, "GET")


def test_cookies_are_kept_per_path_and_deleted_when_expired() -> None:
    client = JourneyClient("http://127.0.0.1:8000")
    response = answer(client, b"HTTP/1.1 303 SEE OTHER\r\nLocation: /next\r\n"
                      b"Set-Cookie: session=abc; HttpOnly; Path=/\r\n"
                      b"Set-Cookie: scoped=1; Path=/console\r\nContent-Length: 0\r\n\r\n")
    assert response.status_code == 303 and response.headers["location"] == "/next"
    assert client.cookies == {"session": ("abc", "/"), "scoped": ("1", "/console")}
    answer(client, b"HTTP/1.1 200 OK\r\nSet-Cookie: session=; Expires=Thu, 01 Jan 1970 "
                   b"00:00:00 GMT; Max-Age=0; Path=/\r\nContent-Length: 2\r\n\r\nok")
    assert client.cookies == {"scoped": ("1", "/console")}


def test_a_short_body_or_a_broken_answer_is_an_error_and_chunks_are_joined() -> None:
    client = JourneyClient("http://127.0.0.1:8000")
    with pytest.raises(JourneyError, match="3 bytes of 10"):
        answer(client, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
    with pytest.raises(JourneyError):
        answer(client, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n")
    with pytest.raises(JourneyError):
        answer(client, b"garbage\r\n\r\n")
    chunked = answer(client, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                             b"4\r\nmand\r\n4\r\nate!\r\n0\r\n\r\n")
    assert chunked.text == "mandate!"
