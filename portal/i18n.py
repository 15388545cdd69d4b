"""Languages: Flask-Babel with a switcher (``?lang=``), Accept-Language, then the customer's."""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from babel import Locale, support
from flask import Flask, current_app, g, request, session
from flask.globals import _cv_app
from flask_babel import Babel, get_locale, get_translations
from flask_babel.speaklater import LazyString
from werkzeug.datastructures import LanguageAccept
from werkzeug.http import parse_accept_header
from wtforms.i18n import messages_path

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


@functools.lru_cache(maxsize=16)
def _wtforms_catalog(code: str) -> support.NullTranslations:
    return support.Translations.load(messages_path(), [code], domain="wtforms")


class _WtformsMessages:
    """WTForms' own messages (a field's default label, "Not a valid choice") in the request's
    language, each language's catalog read once per process: Flask-WTF reads and parses it
    from disk again for every request that builds a form."""

    def ugettext(self, string: str) -> str:
        return _wtforms_catalog(str(get_locale())).ugettext(string)

    def ungettext(self, singular: str, plural: str, n: int) -> str:
        return _wtforms_catalog(str(get_locale())).ungettext(singular, plural, n)


_WTFORMS_MESSAGES = _WtformsMessages()


def _share_wtforms_messages() -> None:
    request.wtforms_translations = _WTFORMS_MESSAGES  # type: ignore[attr-defined]  # Flask-WTF looks here first


def request_translations() -> support.NullTranslations:
    """The translations for the current context's locale, resolved once per context: Flask-Babel
    looks up the context three times for every string. The cached pair is reused only while the
    context's locale and domain are the very objects it was made for, so ``force_locale`` (a new
    Locale) and ``refresh()`` (none) go back to Flask-Babel's own lookup."""
    app_ctx = _cv_app.get(None)
    babel_ctx = app_ctx.g.__dict__.get("_flask_babel") if app_ctx is not None else None
    if babel_ctx is not None:
        known = babel_ctx.__dict__
        cached = known.get("portal_translations")
        if (cached is not None and cached[0] is known.get("babel_locale")
                and cached[1] is known.get("babel_domain")):
            return cached[2]
    translations = get_translations()
    babel_ctx = app_ctx.g.__dict__.get("_flask_babel") if app_ctx is not None else None
    if babel_ctx is not None:
        known = babel_ctx.__dict__
        known["portal_translations"] = (known.get("babel_locale"), known.get("babel_domain"),
                                        translations)
    return translations


def gettext(string: str, **variables: object) -> str:
    """Flask-Babel's ``gettext`` (same result, same ``%`` formatting) through
    :func:`request_translations`."""
    translated: str = request_translations().ugettext(string)
    return translated % variables if variables else translated


def lazy_gettext(string: str, **variables: object) -> LazyString:
    """Flask-Babel's lazy string, translated when used, by :func:`gettext`."""
    return LazyString(gettext, string, **variables)


def init_app(app: Flask) -> None:
    Babel(app, locale_selector=select_locale)
    # The templates' gettext, ngettext and pgettext through the once-resolved translations
    # (Flask-Babel installs the same callables, each resolving them again for every string).
    app.jinja_env.install_gettext_callables(  # type: ignore[attr-defined]  # added by jinja2.ext.i18n
        gettext=lambda s: request_translations().ugettext(s),
        ngettext=lambda s, p, n: request_translations().ungettext(s, p, n),
        pgettext=lambda c, s: request_translations().upgettext(c, s),
        npgettext=lambda c, s, p, n: request_translations().unpgettext(c, s, p, n),
        newstyle=True)
    app.before_request(_share_wtforms_messages)
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
