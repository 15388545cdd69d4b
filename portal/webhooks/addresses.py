"""Which addresses a webhook may reach (SSRF): one judgement, made when an endpoint is configured
and again for the very address each connection goes to, so DNS rebinding cannot slip a private
address in between the check and the connection.

IPv6 forms that carry an IPv4 address (IPv4-mapped and -compatible, NAT64, 6to4, Teredo) are
judged by the IPv4 address they lead to; Python's ``is_global`` calls several of them public.
"""

from __future__ import annotations

import contextvars
import ipaddress
import socket
from typing import Any

import anyio
import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")  # RFC 4291, deprecated
#: Where RFC 6052 puts the IPv4 address for each prefix length a local NAT64 may use (64:ff9b:1::/48
#: allows /48 to /96): the bytes of the IPv6 address that hold it (byte 8 is always skipped).
_NAT64_LAYOUTS = ((6, 7, 9, 10), (7, 9, 10, 11), (9, 10, 11, 12), (12, 13, 14, 15))

#: Whether private targets are allowed for the connection being made (the sender sets it per
#: attempt from WEBHOOK_ALLOW_PRIVATE_NETWORKS); refused unless set.
private_targets_allowed: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "private_targets_allowed", default=False)


class BlockedAddress(Exception):
    """The endpoint resolves to a loopback, private or otherwise non-public address."""


def embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address leads to (several candidates for a local NAT64
    prefix, both ends for Teredo), or ``[]`` if it carries none."""
    if isinstance(address, ipaddress.IPv4Address):
        return []
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address in _NAT64_WELL_KNOWN or address in _IPV4_COMPATIBLE:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    if address in _NAT64_LOCAL:
        packed = address.packed
        return [ipaddress.IPv4Address(bytes(packed[i] for i in layout))
                for layout in _NAT64_LAYOUTS]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    return []


def is_public_address(address: IPAddress) -> bool:
    """True if a webhook may go to ``address``: a global unicast address, judged through the
    IPv4 address it embeds if it embeds one."""
    if isinstance(address, ipaddress.IPv6Address) and address.scope_id:
        return False  # a zone index only makes sense for link-local addresses
    embedded = embedded_ipv4(address)
    if embedded:
        return all(is_public_address(inner) for inner in embedded)
    return address.is_global and not (address.is_multicast or address.is_reserved
                                      or address.is_loopback or address.is_link_local
                                      or address.is_unspecified)


def parse_address(host: str) -> IPAddress | None:
    """``host`` as an IP address (brackets and zone index allowed), or None for a name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def refuse_non_public(host: str, addresses: list[str]) -> list[IPAddress]:
    """The addresses ``host`` resolved to, parsed; BlockedAddress if any of them is not public
    (a name resolving to one public and one private address is refused whole)."""
    parsed = []
    for text in addresses:
        address = ipaddress.ip_address(text)
        if not is_public_address(address):
            raise BlockedAddress(f"{host} resolves to {address}, which is not a public address")
        parsed.append(address)
    if not parsed:
        raise BlockedAddress(f"{host} resolves to no address")
    return parsed


def resolve_now(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to now, or ``[]`` if it does not resolve (yet)."""
    literal = parse_address(host)
    if literal is not None:
        return [str(literal)]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]).split("%")[0] for info in infos]


class _VettedBackend(httpcore.AsyncNetworkBackend):
    """Resolves the name itself, judges every address, and connects to the vetted address
    (TLS still checks the certificate against the name)."""

    def __init__(self, inner: httpcore.AsyncNetworkBackend) -> None:
        self._inner = inner

    async def connect_tcp(self, host: str, port: int, timeout: float | None = None,
                          local_address: str | None = None,
                          socket_options: Any = None) -> httpcore.AsyncNetworkStream:
        if private_targets_allowed.get():
            return await self._inner.connect_tcp(host, port, timeout, local_address,
                                                 socket_options)
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore.ConnectTimeout(f"resolving {host} took too long") from exc
        except OSError as exc:  # as httpcore's own backend reports a name that does not resolve
            raise httpcore.ConnectError(str(exc)) from exc
        vetted = refuse_non_public(host, [str(info[4][0]).split("%")[0] for info in infos])
        error: Exception | None = None
        for address in dict.fromkeys(vetted):  # in resolver order, each once
            try:
                return await self._inner.connect_tcp(str(address), port, timeout, local_address,
                                                     socket_options)
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                error = exc
        raise error or httpcore.ConnectError(f"cannot connect to {host}")

    async def connect_unix_socket(self, *args: Any, **kwargs: Any) -> httpcore.AsyncNetworkStream:
        raise BlockedAddress("webhooks never go to a local socket")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def vet_connections(client: httpx.AsyncClient) -> httpx.AsyncClient:
    """Make ``client`` judge the address of every direct connection it opens (those through a
    proxy from ``HTTPS_PROXY`` go to the proxy, which filters in its turn).

    httpx has no public hook for this yet (encode/httpx#3749), so it wraps the network backend
    of the client's default transport; a test proves it still takes effect."""
    pool = getattr(getattr(client, "_transport", None), "_pool", None)
    if not isinstance(pool, httpcore.AsyncConnectionPool) or not hasattr(pool,
                                                                        "_network_backend"):
        raise RuntimeError("this httpx version hides its network backend: the webhook sender "
                           "cannot vet the addresses it connects to")
    pool._network_backend = _VettedBackend(pool._network_backend)
    return client
