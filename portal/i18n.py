"""Languages: Flask-Babel with a switcher (``?lang=``), Accept-Language, then the customer's."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from babel import Locale
from flask import Flask, current_app, g, request, session
from flask_babel import Babel, get_locale
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header

LANGUAGE_NAMES = {"en": "English", "nl": "Nederlands", "de": "Deutsch", "fr": "Français"}


def select_locale() -> Locale:
    """The request's language, as a Locale made once per language (Flask-Babel would parse
    the code again on every request)."""
    return _locale(_chosen_locale())


@functools.lru_cache(maxsize=64)
def _locale(code: str) -> Locale:
    return Locale.parse(code)


@functools.lru_cache(maxsize=512)
def _browser_choice(header: str, supported: tuple[str, ...]) -> str | None:
    """The best supported match for an Accept-Language header; browsers send few distinct
    values, so each is parsed once."""
    return parse_accept_header(header, LanguageAccept).best_match(supported)


def _chosen_locale() -> str:
    supported: list[str] = current_app.config["SUPPORTED_LOCALES"]
    args = request.args
    chosen = args.get("lang") if "lang" in args else None  # a miss in get() builds an exception
    if chosen in supported:
        if session.get("lang") != chosen:  # an unchanged session sends no cookie
            session["lang"] = chosen
        return chosen
    if session.get("lang") in supported:
        return session["lang"]
    return preferred_locale(supported, current_app.config["BABEL_DEFAULT_LOCALE"],
                            request.environ.get("HTTP_ACCEPT_LANGUAGE", ""), g.get("locale_hint"))


def preferred_locale(supported: list[str], default: str, accept_language: str,
                     hint: str | None) -> str:
    """Without a choice made on the page (``?lang=``, then kept in the session): the browser's
    best supported language, then the customer's own (``hint``), then the default."""
    from_browser = _browser_choice(accept_language, tuple(supported))
    if from_browser:
        return from_browser
    return hint if hint in supported else default


def locale_name(code: str) -> str:
    """The name Flask-Babel's ``get_locale()`` gives a chosen code (``str`` of its Locale)."""
    return str(_locale(code))


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGE_NAMES"] = LANGUAGE_NAMES
    app.context_processor(lambda: {"page_locale": str(get_locale()),
                                   "language_links": language_links})


def language_links() -> list[tuple[str, str]]:
    """(code, URL) for the switcher: this page in each language. Only the parameters the view
    validated (``g.page_params``, e.g. a listed embedding) are kept, never what was sent."""
    kept: dict[str, str] = g.get("page_params") or {}
    links = []
    for code in current_app.config["SUPPORTED_LOCALES"]:
        args = {**kept, "lang": code}
        links.append((code, f"{request.path}?{urlencode(args)}"))
    return links
