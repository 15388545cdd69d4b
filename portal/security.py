"""Security headers on every response; framing is refused everywhere by default."""

from __future__ import annotations

import functools

from flask import Flask, Response, current_app, g, request

_BASE_POLICY = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'")


@functools.lru_cache(maxsize=256)
def content_security_policy(frame_ancestors: str = "'none'", form_action: str = "'self'") -> str:
    """A strict policy: our own scripts and styles only, no inline code, no plugins."""
    return f"{_BASE_POLICY}; form-action {form_action}; frame-ancestors {frame_ancestors}"


def allow_form_redirects(sources: str = "'self' https:") -> None:
    """For a page whose form POST ends in a redirect elsewhere (the signing form to the provider's
    https checkout): the page's CSP ``form-action`` governs those redirects too."""
    g.csp_form_action = sources


def _set_headers(response: Response) -> Response:
    headers = response.headers
    # A view may allow framing by the merchant's listed origins (portal.sign.embed); every
    # other response refuses to be framed at all.
    frame_ancestors = g.get("frame_ancestors")
    headers.setdefault("Content-Security-Policy", content_security_policy(
        frame_ancestors=frame_ancestors or "'none'",
        form_action=g.get("csp_form_action", "'self'")))
    if not frame_ancestors:
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("Permissions-Policy",
                       "camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
                       "interest-cohort=()")
    headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    if request.is_secure or current_app.config["PUBLIC_BASE_URL"].startswith("https://"):
        headers.setdefault("Strict-Transport-Security", "max-age=63072000; includeSubDomains")
    if response.mimetype == "text/html":
        # Pages carry CSRF tokens and, under /sign, the customer's link: never cache them.
        headers.setdefault("Cache-Control", "no-store")
    return response


def init_app(app: Flask) -> None:
    if app.config["PUBLIC_BASE_URL"].startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.after_request(_set_headers)
