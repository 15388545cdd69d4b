"""The origins allowed to frame a merchant's pages, in the one form browsers send them.

``embed.js`` sends the host page's ``window.location.origin`` and the portal compares it exactly
with the merchant's list, which also becomes the pages' CSP ``frame-ancestors``: so an origin
is stored as a browser writes it, and nothing but a scheme, a host and a port can get in."""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

#: A DNS label: letters, digits and hyphens, at most 63, no hyphen at either end.
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
_DEFAULT_PORTS = {"https": 443, "http": 80}


def frame_origin(text: str) -> str:
    """``scheme://host[:port]`` as browsers send it in ``Origin`` (lower case, IDN as punycode,
    no default port), which the embedding compares exactly; ValueError otherwise. No paths, no
    wildcards: ``embed.js`` sends the host page's exact origin."""
    value = text.strip()
    if "*" in value:
        raise ValueError(f"{value!r}: wildcards are not supported; list each origin")
    try:
        parts = urlsplit(value)
    except ValueError:
        raise ValueError(f"{value!r} must be an origin like https://shop.example") from None
    if parts.scheme not in _DEFAULT_PORTS or not parts.netloc:
        raise ValueError(f"{value!r} must be an origin like https://shop.example")
    if parts.path not in ("", "/") or parts.query or parts.fragment or value.endswith(("?", "#")):
        raise ValueError(f"{value!r} must be an origin only (scheme://host[:port]), no path")
    if parts.username is not None or parts.password is not None:
        raise ValueError(f"{value!r} must not carry a user name or password")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"{value!r} has an invalid port") from None
    host = _origin_host(parts.hostname or "", value)
    loopback = host in ("localhost", "[::1]") or host.startswith("127.")
    if parts.scheme == "http" and not loopback:
        raise ValueError(f"{value!r} must be https:// (http only for localhost)")
    shown_port = f":{port}" if port is not None and port != _DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{shown_port}"


def _origin_host(host: str, value: str) -> str:
    if not host:
        raise ValueError(f"{value!r} has no host")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        pass
    else:
        if isinstance(address, ipaddress.IPv6Address):
            if address.scope_id:
                raise ValueError(f"{value!r}: an address with a zone cannot be an origin")
            return f"[{address.compressed}]"
        return str(address)
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"{value!r} has an invalid host name") from None
    labels = ascii_host.rstrip(".").split(".")
    if len(ascii_host) > 253 or not all(_LABEL.fullmatch(label) for label in labels):
        raise ValueError(f"{value!r} has an invalid host name")
    return ".".join(labels)
