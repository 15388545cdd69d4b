"""The Core signing journey over real HTTP, for process tests and benchmarks.

The client is a small HTTP/1.1 one over plain sockets (:class:`JourneyClient`): the benchmark
runs eight of them in threads of one process on the cores the server uses, where httpx cost
about 20 ms of CPU per flow, a third of the portal's own. It still does what a browser does for
this journey: a cookie jar (Set-Cookie, deletion, path), every response read in full (its length
checked, chunked bodies decoded) and every step's status and content checked."""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass, field
from typing import Self
from urllib.parse import urlencode, urlsplit

CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
REQUESTS_PER_FLOW = 6
USER_AGENT = "portal-journey/1"


class JourneyError(RuntimeError):
    """A step answered unexpectedly, or the server's answer was not valid HTTP."""


@dataclass
class Response:
    status_code: int
    headers: dict[str, str]
    text: str


@dataclass
class JourneyClient:
    """One browser: its cookies, one connection per request (the portal's sync workers close
    each one after its response). ``base`` is ``http://host:port``."""

    base: str
    timeout: float = 30.0
    cookies: dict[str, tuple[str, str]] = field(default_factory=dict)  # name: (value, path)

    def __post_init__(self) -> None:
        parts = urlsplit(self.base)
        if parts.scheme != "http" or parts.hostname is None:
            raise ValueError(f"an http:// base is needed, not {self.base!r}")
        self.address = (parts.hostname, parts.port or 80)
        self.host = parts.netloc

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.cookies.clear()

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, data: dict[str, str]) -> Response:
        return self.request("POST", path, urlencode(data).encode())

    def request(self, method: str, path: str, body: bytes | None = None) -> Response:
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host}", "Accept: */*",
                 f"User-Agent: {USER_AGENT}", "Connection: close"]
        cookies = "; ".join(f"{name}={value}" for name, (value, scope) in self.cookies.items()
                            if path.startswith(scope))
        if cookies:
            lines.append(f"Cookie: {cookies}")
        if body is not None:
            lines += ["Content-Type: application/x-www-form-urlencoded",
                      f"Content-Length: {len(body)}"]
        request = ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
        with socket.create_connection(self.address, timeout=self.timeout) as connection:
            connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            connection.sendall(request)
            received = bytearray()
            while chunk := connection.recv(65536):
                received += chunk
        return self._parse(bytes(received), method)

    def _parse(self, raw: bytes, method: str) -> Response:
        head, separator, body = raw.partition(b"\r\n\r\n")
        if not separator:
            raise JourneyError(f"an incomplete response: {raw[:200]!r}")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        version, _, rest = status_line.partition(" ")
        if not version.startswith("HTTP/1.") or not rest[:3].isdigit():
            raise JourneyError(f"not an HTTP/1.x status line: {status_line!r}")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, colon, value = line.partition(":")
            if not colon:
                raise JourneyError(f"a malformed header line: {line!r}")
            name, value = name.strip().lower(), value.strip()
            if name == "set-cookie":
                self._set_cookie(value)
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = _dechunked(body)
        elif ("content-length" in headers and method != "HEAD"
              and len(body) != int(headers["content-length"])):
            raise JourneyError(f"{len(body)} bytes of {headers['content-length']} read")
        return Response(int(rest[:3]), headers, body.decode("utf-8"))

    def _set_cookie(self, value: str) -> None:
        pair, *attributes = (part.strip() for part in value.split(";"))
        name, _, cookie = pair.partition("=")
        options = {key.lower(): val for key, _, val in
                   (attribute.partition("=") for attribute in attributes)}
        if options.get("max-age") == "0" or "1970" in options.get("expires", ""):
            self.cookies.pop(name, None)
        else:
            self.cookies[name] = (cookie, options.get("path") or "/")


def _dechunked(body: bytes) -> bytes:
    out, rest = bytearray(), body
    while True:
        size_line, separator, rest = rest.partition(b"\r\n")
        if not separator:
            raise JourneyError("a truncated chunked body")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return bytes(out)
        if len(rest) < size + 2:
            raise JourneyError("a truncated chunk")
        out += rest[:size]
        rest = rest[size + 2:]


def journey_client(base: str) -> JourneyClient:
    """A client for :func:`sign_and_verify`; a bench thread makes one and reuses it."""
    return JourneyClient(base)


def _expect(response: Response, status: int, step: str) -> Response:
    if response.status_code != status:
        raise JourneyError(f"{step} answered {response.status_code}, not {status}")
    return response


def _csrf(response: Response, step: str) -> str:
    found = CSRF.search(response.text)
    if found is None:
        raise JourneyError(f"{step}: no CSRF token on the page")
    return found.group(1)


def sign_and_verify(base: str, path: str, iban: str = "NL91ABNA0417164300", *,
                    client: JourneyClient | None = None) -> str:
    """One customer: open, submit, sandbox checkout, pay, return, confirmation. Returns the
    confirmation page; raises if any step answers unexpectedly. A ``client`` given is reused
    (its cookies cleared first, as a new customer's browser has none); else one is made."""
    if client is None:
        with journey_client(base) as made:
            return sign_and_verify(base, path, iban, client=made)
    client.cookies.clear()
    page = _expect(client.get(path + "?lang=en"), 200, "the signing page")
    started = _expect(client.post(path, data={
        "csrf_token": _csrf(page, "the signing page"), "name": "Sam de Vries",
        "email": "sam@example.org", "iban": iban, "consent": "y"}), 303, "the submit")
    checkout = started.headers["location"].removeprefix(base)
    sandbox = _expect(client.get(checkout), 200, "the sandbox checkout")
    paid = _expect(client.post(checkout, data={
        "csrf_token": _csrf(sandbox, "the sandbox checkout"), "issuer": "INGBNL2A",
        "outcome": "paid", "payer_name": "Sam de Vries", "payer_iban": ""}), 303, "the payment")
    back = _expect(client.get(paid.headers["location"].removeprefix(base)), 303, "the return")
    done = _expect(client.get(back.headers["location"].removeprefix(base)), 200,
                   "the confirmation")
    if "mandate-status" not in done.text:
        raise JourneyError("the confirmation page shows no mandate status")
    return done.text
