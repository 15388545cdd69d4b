"""POST one webhook: bounded in time (connect and total), no redirects, a short excerpt kept.

httpx's timeouts bound each network operation, not the request; a real deadline needs
cancellation, so the request runs as a coroutine under ``asyncio.timeout``. The delivery workers
await :func:`send` with one shared client, many requests at once; :func:`post` is the same for
synchronous callers (each thread keeps its own event loop and client).
"""

from __future__ import annotations

import asyncio
import functools
import http.cookiejar
import socket
import ssl
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import httpx

from portal.webhooks import addresses
from portal.webhooks.addresses import BlockedAddress

#: Characters of the response kept with the attempt.
EXCERPT_CHARS = 500
#: Bytes read from a response body at most; the rest is never downloaded.
READ_LIMIT = 4096


@dataclass(frozen=True)
class Timeouts:
    connect: float = 5.0
    total: float = 15.0


@dataclass(frozen=True)
class Outcome:
    """What one attempt got: a status, or the class of error that prevented one."""

    http_status: int | None
    error: str | None
    latency_ms: int
    excerpt: str
    retry_after: str | None = None

    @property
    def accepted(self) -> bool:
        return self.http_status is not None and 200 <= self.http_status < 300


def post(url: str, body: bytes, headers: dict[str, str], timeouts: Timeouts, *,
         allow_private: bool = False) -> Outcome:
    """Send ``body``; never raises for network trouble, it becomes the outcome's ``error``."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        runner = _thread_runner()
        return runner.loop.run_until_complete(
            _post(runner.client, url, body, headers, timeouts, allow_private))
    # Called from inside a running event loop (async code): use a short-lived thread of its own.
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(_post_in_new_loop, url, body, headers, timeouts, allow_private).result()


class _Runner:
    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.client = new_client()


_local = threading.local()


def _thread_runner() -> _Runner:
    runner: _Runner | None = getattr(_local, "runner", None)
    if runner is None or runner.loop.is_closed():
        runner = _local.runner = _Runner()
    return runner


@functools.cache
def _tls_context() -> ssl.SSLContext:
    """httpx's default verification (certifi's roots), loaded once: each client would otherwise
    read the CA bundle again (a tenth of a second)."""
    return httpx.create_ssl_context()


def new_client(max_connections: int = 20) -> httpx.AsyncClient:
    """A client that follows no redirects, keeps no cookies (one merchant's cookies must never
    reach another's endpoint, even with requests to both in flight) and judges the address of
    every connection it opens (``addresses.vet_connections``)."""
    no_cookies = http.cookiejar.CookieJar(http.cookiejar.DefaultCookiePolicy(allowed_domains=[]))
    return addresses.vet_connections(httpx.AsyncClient(
        follow_redirects=False, cookies=no_cookies, verify=_tls_context(),
        limits=httpx.Limits(max_connections=max_connections,
                            max_keepalive_connections=max_connections, keepalive_expiry=30)))


async def send(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str],
               timeouts: Timeouts, *, allow_private: bool = False) -> Outcome:
    """One attempt on a shared client; never raises for network trouble."""
    return await _post(client, url, body, headers, timeouts, allow_private)


def _post_in_new_loop(url: str, body: bytes, headers: dict[str, str], timeouts: Timeouts,
                      allow_private: bool) -> Outcome:
    async def once() -> Outcome:
        async with new_client() as client:
            return await _post(client, url, body, headers, timeouts, allow_private)
    return asyncio.run(once())


async def _post(client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str],
                timeouts: Timeouts, allow_private: bool) -> Outcome:
    started = time.perf_counter()

    def outcome(status: int | None = None, error: str | None = None, excerpt: str = "",
                retry_after: str | None = None) -> Outcome:
        latency = round((time.perf_counter() - started) * 1000)
        return Outcome(status, error, latency, excerpt[:EXCERPT_CHARS], retry_after)

    try:
        async with asyncio.timeout(timeouts.total):
            addresses.private_targets_allowed.set(allow_private)  # this attempt's task only
            if not allow_private:
                await _refuse_non_public(url)
            # Only the connect phase has its own limit; the whole request has the deadline.
            limits = httpx.Timeout(None, connect=timeouts.connect)
            async with client.stream("POST", url, content=body, headers=headers,
                                     timeout=limits) as response:
                excerpt = await _read_excerpt(response)
                return outcome(response.status_code, None, excerpt,
                               response.headers.get("retry-after"))
    except TimeoutError:
        return outcome(error="TotalTimeout",
                       excerpt=f"no complete answer within {timeouts.total:g} s")
    except BlockedAddress as exc:
        return outcome(error="BlockedAddress", excerpt=str(exc))
    except (httpx.HTTPError, httpx.InvalidURL, OSError) as exc:
        return outcome(error=type(exc).__name__, excerpt=str(exc) or type(exc).__name__)
    finally:
        client.cookies.clear()  # one merchant's cookies must never reach another's endpoint


async def _read_excerpt(response: httpx.Response) -> str:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= READ_LIMIT:
            break
    return b"".join(chunks)[:READ_LIMIT].decode("utf-8", "replace")


async def _refuse_non_public(url: str) -> None:
    """Refuse loopback, private, link-local (cloud metadata) and reserved targets (SSRF).

    Checked on every attempt, as DNS may change, and again by the client for the address
    each new connection goes to (``addresses.vet_connections``), so a name re-resolving in
    between is caught too.
    """
    target = httpx.URL(url)
    host = target.host
    if addresses.parse_address(host) is not None:
        addresses.refuse_non_public(host, [host])
        return
    port = target.port or (443 if target.scheme == "https" else 80)
    infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses.refuse_non_public(host, [str(info[4][0]).split("%")[0] for info in infos])
