"""The once-per-context translations (portal/i18n.py) give what Flask-Babel gives, also under
``force_locale`` and after ``refresh()``, in Python, in lazy strings and in templates."""

from __future__ import annotations

import flask_babel
from flask import Flask, render_template_string

from portal.i18n import gettext, lazy_gettext

STRING = "Enter your IBAN."


def test_the_request_language_then_a_forced_one_then_the_request_language_again(
        app: Flask) -> None:
    with app.test_request_context("/?lang=nl"):
        dutch = gettext(STRING)
        assert dutch != STRING and dutch == flask_babel.gettext(STRING)
        with flask_babel.force_locale("de"):
            german = gettext(STRING)
            assert german not in (STRING, dutch) and german == flask_babel.gettext(STRING)
            assert render_template_string("{{ _('Enter your IBAN.') }}") == german
        assert gettext(STRING) == dutch
        assert render_template_string("{{ _('Enter your IBAN.') }}") == dutch


def test_a_refresh_selects_the_language_again(app: Flask) -> None:
    with app.test_request_context("/?lang=nl") as ctx:
        dutch = gettext(STRING)
        ctx.request.args = ctx.request.parameter_storage_class({"lang": "fr"})
        assert gettext(STRING) == dutch  # kept for the request, as Flask-Babel keeps it
        flask_babel.refresh()
        assert gettext(STRING) not in (STRING, dutch)
        assert gettext(STRING) == flask_babel.gettext(STRING)


def test_lazy_strings_and_variables_translate_when_used(app: Flask) -> None:
    lazy = lazy_gettext("%(country)s is not a known IBAN country code.", country="XX")
    for code in ("nl", "fr"):
        with app.test_request_context(f"/?lang={code}"):
            assert str(lazy) == flask_babel.gettext(
                "%(country)s is not a known IBAN country code.", country="XX")
            assert "XX" in str(lazy)


def test_outside_a_context_the_string_is_its_own_translation() -> None:
    assert gettext(STRING) == STRING
