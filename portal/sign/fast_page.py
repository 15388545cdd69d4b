"""A repeat visit of a signing link, answered from the page cache before Flask dispatches it.

Opening a link the customer opened before is the portal's hottest request (links are opened
again and again from mail apps, previews and reloads). The view's own cached path
(``portal.sign.views._cached_page``) did one small query and a dictionary lookup, but Flask's
per-request machinery around it (request and app contexts, URL matching, the session, Babel,
before/after-request hooks, the response object) cost several times that. This WSGI middleware
does the same lookup and writes the same response, byte for byte and header for header
(``tests/sign/test_fast_page.py`` compares them), for the common case: a GET of
``/sign/<token>`` with no language chosen on the page (``?lang=``) and no session cookie.

Every property of the full path is kept: the Host header is checked against the trusted
hosts, the link's signature and its state (one read: not expired, withdrawn, used or signed),
the rate limit is counted (once: the view takes this count if the request goes on to it) and
its verdict read before anything is answered, the same security headers, request id and
latency metric. Anything else — a miss, a refusal, an error, a request over the limit — goes on
to Flask, which answers it as before, without reading the link's state a second time.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from werkzeug.exceptions import SecurityError
from werkzeug.wsgi import get_host

from portal.adapters import get_adapters
from portal.db import state as db_state
from portal.i18n import locale_name, preferred_locale
from portal.logs import assign_request_id
from portal.mandates.links import read_invitation_token
from portal.metrics import observe_request
from portal.security import FORM_REDIRECTS, security_headers
from portal.sign.embed import asked_embedding
from portal.sign.page_cache import page_key, pages_of
from portal.sign.service import open_link

if TYPE_CHECKING:
    from flask import Flask

    from portal.limits import ViewLimit

#: WSGI environ key: (token, the link's state or None) as read here, for the view.
LINK_STATE = "portal.sign.link_state"
#: The view this answers for, and the only query parameters it serves (an embedding's).
ENDPOINT = "sign.sign"
PREFIX = "/sign/"
EMBED_ARGS = frozenset({"embed", "origin", "return_to"})

StartResponse = Callable[..., Any]
WSGIApp = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class CachedSigningPages:
    """``app.wsgi_app = CachedSigningPages(app, app.wsgi_app)`` (inside any proxy fix)."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.app, self.wsgi_app = app, wsgi_app
        #: The view's own limit: counted here under the view's scope, so once either way.
        self.limit: ViewLimit = app.view_functions[ENDPOINT].rate_limit

    def __call__(self, environ: dict[str, Any], start_response: StartResponse
                 ) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if (environ.get("REQUEST_METHOD") == "GET" and path.startswith(PREFIX)
                and f"{self.app.config['SESSION_COOKIE_NAME']}="
                not in environ.get("HTTP_COOKIE", "")):
            answer = self._answer(environ, path[len(PREFIX):])
            if answer is not None:
                headers, body = answer
                start_response("200 OK", headers)
                return [body]
        # Counted here, the view takes the count (environ[PRECOUNTED]). Should the request fail
        # before the view, the answer left unread is read before the thread's next hit.
        return self.wsgi_app(environ, start_response)

    def _answer(self, environ: dict[str, Any], token: str
                ) -> tuple[list[tuple[str, str]], bytes] | None:
        """The cached page's headers and body, or None for Flask to answer."""
        started = time.perf_counter()
        config = self.app.config  # read on every request, as Flask does
        query = environ.get("QUERY_STRING", "")
        args = dict(parse_qsl(query, keep_blank_values=True)[::-1]) if query else {}
        if not token or "/" in token or not EMBED_ARGS.issuperset(args):
            return None
        if config["TRUSTED_HOSTS"] is not None:
            try:
                get_host(environ, config["TRUSTED_HOSTS"])
            except SecurityError:
                return None  # Flask answers 400
        pending = self.limit.send(self.app, environ.get("REMOTE_ADDR") or "127.0.0.1", environ)
        try:  # the link's reads overlap the limit's round trip
            public_id, _ = read_invitation_token(token, config["SECRET_KEY"],
                                                 config["SECRET_KEY_FALLBACKS"])
            link = open_link(db_state(self.app).reads, public_id, get_adapters(self.app).clock())
            environ[LINK_STATE] = (token, link)
            if link is None:  # a first open, or a refusal: the view records or refuses it
                return None
            locale = locale_name(preferred_locale(
                config["SUPPORTED_LOCALES"], config["BABEL_DEFAULT_LOCALE"],
                environ.get("HTTP_ACCEPT_LANGUAGE", ""), link.locale_hint))
            cached = pages_of(self.app).get(page_key(
                token, link.mandate_version, locale, asked_embedding(args),
                refund_verification=link.refund_verification))
            if cached is None or pending.exhausted() is not None:
                return None  # over the limit, the view's verdict answers 429 (counted once)
        except Exception:  # noqa: BLE001 - a bad link, the database or Redis: the app answers
            return None
        body, frame_ancestors = cached
        secure = environ.get("wsgi.url_scheme") in ("https", "wss")  # as Request.is_secure
        headers = [("Content-Type", "text/html; charset=utf-8"),
                   ("Content-Length", str(len(body)))]
        headers += [(name, value) for _, name, value in security_headers(
            frame_ancestors, FORM_REDIRECTS,
            secure or config["PUBLIC_BASE_URL"].startswith("https://"), True)]
        # The page reads the session (for a language kept there): it varies with the cookie.
        headers += [("X-Request-ID", assign_request_id(environ)), ("Vary", "Cookie")]
        observe_request("GET", ENDPOINT, 200, time.perf_counter() - started)
        return headers, body


def serve_cached_pages(app: Flask) -> None:
    """Answer repeat visits of signing links before the app dispatches them."""
    app.wsgi_app = CachedSigningPages(app, app.wsgi_app)  # type: ignore[method-assign]
