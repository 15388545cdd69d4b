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


#: Where a form's redirects may lead on pages that allow them (:func:`allow_form_redirects`).
FORM_REDIRECTS = "'self' https:"


def allow_form_redirects(sources: str = FORM_REDIRECTS) -> None:
    """For a page whose form POST ends in a redirect elsewhere (the signing form to the provider's
    https checkout): the page's CSP ``form-action`` governs those redirects too."""
    g.csp_form_action = sources


_PERMISSIONS_POLICY = ("camera=(), microphone=(), geolocation=(), payment=(), usb=(), "
                       "interest-cohort=()")
_HSTS = "max-age=63072000; includeSubDomains"


@functools.lru_cache(maxsize=256)
def security_headers(frame_ancestors: str | None, form_action: str, hsts: bool,
                     html: bool) -> tuple[tuple[str, str, str], ...]:
    """The headers every response carries, as (lower-cased name, name, value): made once per
    combination rather than set one by one on every response."""
    headers = [("Content-Security-Policy", content_security_policy(
        frame_ancestors=frame_ancestors or "'none'", form_action=form_action))]
    if not frame_ancestors:  # framing is refused unless a view allowed the merchant's origins
        headers.append(("X-Frame-Options", "DENY"))
    headers += [("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                ("Permissions-Policy", _PERMISSIONS_POLICY),
                ("Cross-Origin-Opener-Policy", "same-origin")]
    if hsts:
        headers.append(("Strict-Transport-Security", _HSTS))
    if html:  # pages carry CSRF tokens and, under /sign, the customer's link: never cache them
        headers.append(("Cache-Control", "no-store"))
    return tuple((name.lower(), name, value) for name, value in headers)


def _set_headers(response: Response) -> Response:
    """Each security header the view did not set itself. A view may allow framing by the
    merchant's listed origins (``g.frame_ancestors``, portal.sign.embed); every other response
    refuses to be framed at all."""
    headers = response.headers
    content_type = headers.get("Content-Type", "")
    wanted = security_headers(
        g.get("frame_ancestors"), g.get("csp_form_action", "'self'"),
        request.is_secure or current_app.config["PUBLIC_BASE_URL"].startswith("https://"),
        content_type.partition(";")[0].strip().lower() == "text/html")
    present = {name.lower() for name, _ in headers}
    for lowered, name, value in wanted:
        if lowered not in present:
            headers.add(name, value)
    return response


def init_app(app: Flask) -> None:
    if app.config["PUBLIC_BASE_URL"].startswith("https://"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.after_request(_set_headers)
