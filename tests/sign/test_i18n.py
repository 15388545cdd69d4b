"""The signing pages in the customer's language, and catalogs that are complete and compiled.

Updating the catalogs after changing a string (commands also in portal/translations/README.md)::

    .venv/bin/pybabel extract -F babel.cfg -k lazy_gettext -k _l \\
        --project=mandate-portal --copyright-holder="mandate-portal contributors" \\
        -o portal/translations/messages.pot .
    .venv/bin/pybabel update -i portal/translations/messages.pot -d portal/translations \\
        --no-fuzzy-matching --ignore-obsolete
    .venv/bin/pybabel compile -d portal/translations --statistics
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from markupsafe import escape
from sqlalchemy.orm import Session
from werkzeug.test import TestResponse

from portal.mandates.links import make_invitation_token
from portal.mandates.models import Invitation
from signing.texts import mandate_text
from tests.factories import make_invitation
from tests.sign.driver import csrf_token

ROOT = Path(__file__).resolve().parents[2]
TRANSLATIONS = ROOT / "portal" / "translations"
LANGUAGES = ("nl", "de", "fr")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")
NBSP = "\u00a0"


def _path(app: Flask, invitation: Invitation) -> str:
    token = make_invitation_token(invitation.public_id, invitation.expires_at,
                                  app.config["SECRET_KEY"])
    return f"/sign/{token}"


def _text(response: TestResponse) -> str:
    assert response.status_code in (200, 422), response.data[:400]
    return response.get_data(as_text=True)


def _html_lang(text: str) -> str:
    match = re.search(r'<html lang="([^"]+)"', text)
    assert match, "page has no <html lang>"
    return match.group(1)


@pytest.fixture
def invitation(session: Session) -> Invitation:
    invitation = make_invitation(session)  # the customer's own locale is "en"
    session.commit()
    return invitation


def test_lang_parameter_shows_the_page_and_core_mandate_text_in_dutch(
        app: Flask, client: FlaskClient, invitation: Invitation) -> None:
    merchant = invitation.merchant
    text = _text(client.get(_path(app, invitation) + "?lang=nl"))

    assert _html_lang(text) == "nl"
    for dutch in (f"Machtig {merchant.display_name} voor automatische incasso", "Incassant",
                  "Incassant ID", "Machtigingskenmerk", "Doorlopende machtiging",
                  "Naam rekeninghouder", "E-mailadres", "Uw gegevens",
                  f"Ik machtig {merchant.legal_name} om"):
        assert escape(dutch) in text, dutch
    assert escape(mandate_text("CORE", "nl", merchant.legal_name)) in text
    assert "binnen 8 weken na afschrijving" in text
    assert "Authorise direct debits" not in text and "8 weeks" not in text


def test_accept_language_gives_german(app: Flask, client: FlaskClient,
                                      invitation: Invitation) -> None:
    merchant = invitation.merchant
    text = _text(client.get(_path(app, invitation),
                            headers={"Accept-Language": "de-DE,de;q=0.9"}))

    assert _html_lang(text) == "de"
    for german in (f"SEPA-Lastschriftmandat für {merchant.display_name} erteilen",
                   "Zahlungsempfänger", "Gläubiger-Identifikationsnummer", "Mandatsreferenz",
                   "Name des Kontoinhabers", "Wiederkehrende Zahlungen", f"0,01{NBSP}€"):
        assert escape(german) in text, german
    assert escape(mandate_text("CORE", "de", merchant.legal_name)) in text


def test_switcher_choice_sticks_in_the_session(app: Flask, client: FlaskClient,
                                               invitation: Invitation) -> None:
    path = _path(app, invitation)
    chosen = _text(client.get(path + "?lang=fr"))
    assert re.search(r'<a href="[^"]*\?lang=fr"[^>]*aria-current="true"', chosen)

    # No ?lang now, and a browser asking for German: the earlier choice still wins.
    text = _text(client.get(path, headers={"Accept-Language": "de-DE,de;q=0.9"}))
    assert _html_lang(text) == "fr"
    for french in ("Créancier", "Identifiant créancier SEPA (ICS)",
                   "Référence unique du mandat (RUM)", "Nom du titulaire du compte"):
        assert escape(french) in text, french
    assert escape(mandate_text("CORE", "fr", invitation.merchant.legal_name)) in text

    with client.session_transaction() as browser_session:
        assert browser_session["lang"] == "fr"


def test_unsupported_lang_falls_back_to_the_browser_language(
        app: Flask, client: FlaskClient, invitation: Invitation) -> None:
    text = _text(client.get(_path(app, invitation) + "?lang=xx",
                            headers={"Accept-Language": "de"}))
    assert _html_lang(text) == "de" and "Zahlungsempfänger" in text
    with client.session_transaction() as browser_session:
        assert "lang" not in browser_session


def test_unsupported_lang_without_browser_hint_uses_the_customers_locale(
        app: Flask, client: FlaskClient, session: Session) -> None:
    invitation = make_invitation(session, locale="nl")
    session.commit()
    text = _text(client.get(_path(app, invitation) + "?lang=xx"))
    assert _html_lang(text) == "nl" and "Machtigingskenmerk" in text


def test_unsupported_lang_with_nothing_else_known_is_english(
        app: Flask, client: FlaskClient, invitation: Invitation) -> None:
    text = _text(client.get(_path(app, invitation) + "?lang=xx"))
    assert _html_lang(text) == "en"
    assert "Authorise direct debits for" in text and "Mandate reference" in text


def _post_form(client: FlaskClient, url: str, **fields: str) -> TestResponse:
    match = CSRF.search(_text(client.get(url)))
    assert match, "page has no CSRF token"
    data = {"csrf_token": match.group(1), "name": "Camille Martin",
            "email": "camille@example.org", "consent": "y", **fields}
    return client.post(url, data=data)


def test_wrong_iban_is_explained_in_french(app: Flask, client: FlaskClient,
                                           invitation: Invitation) -> None:
    url = _path(app, invitation) + "?lang=fr"

    typo = _post_form(client, url, iban="NL91 ABNA 0417 1643 01")
    assert typo.status_code == 422
    assert escape(f"Cet IBAN contient une faute de frappe{NBSP}: la clé de contrôle "
                  "ne correspond pas.") in _text(typo)

    short = _post_form(client, url, iban="NL91 ABNA 0417 1643 0")
    assert short.status_code == 422
    assert escape(f"Un IBAN NL comporte 18 caractères{NBSP}; vous en avez saisi 17.") \
        in _text(short)
    assert "you entered" not in _text(short)


def test_other_form_errors_are_translated_too(app: Flask, client: FlaskClient,
                                              invitation: Invitation) -> None:
    response = _post_form(client, _path(app, invitation) + "?lang=nl",
                          name="", consent="", iban="NL91 ABNA 0417 1643 00")
    text = _text(response)
    assert response.status_code == 422
    assert "Verbeter het volgende:" in text
    assert "Vul de naam van de rekeninghouder in." in text
    assert "Vink het vakje aan om de machtiging te verlenen." in text


def test_live_iban_check_answers_in_the_chosen_language(app: Flask, client: FlaskClient,
                                                         invitation: Invitation) -> None:
    path = _path(app, invitation)
    page = client.get(path + "?lang=de")
    answer = client.post(f"{path}/iban", json={"value": "XX12 3456"},
                         headers={"X-CSRFToken": csrf_token(page)}).get_json()
    assert answer == {"valid": False,
                      "message": "XX ist kein bekannter IBAN-Ländercode."}


def test_refusal_pages_are_translated(app: Flask, client: FlaskClient) -> None:
    text = client.get("/sign/not-a-real-token?lang=nl").get_data(as_text=True)
    assert "Deze link is ongeldig" in text


# --- The catalogs themselves ------------------------------------------------------------------

def _read_po(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


@pytest.fixture(scope="module")
def template() -> Catalog:
    return _read_po(TRANSLATIONS / "messages.pot")


def test_messages_pot_is_up_to_date_with_the_code(template: Catalog, tmp_path: Path) -> None:
    """A wrapped string added or changed without updating the catalogs fails here."""
    fresh = tmp_path / "messages.pot"
    CommandLineInterface().run([
        "pybabel", "--quiet", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "lazy_gettext",
        "-k", "_l", "-o", str(fresh), str(ROOT)])
    expected = {message.id for message in _read_po(fresh) if message.id}
    assert {message.id for message in template if message.id} == expected, (
        "portal/translations/messages.pot is stale: see portal/translations/README.md")


def test_the_sandbox_ideal_page_is_in_the_catalog(template: Catalog) -> None:
    """Customers of a site in test mode land on it too, so it speaks their language."""
    locations = {location for message in template for location, _ in message.locations}
    assert "portal/templates/sandbox/checkout.html" in locations
    assert "portal/sandbox/views.py" in locations


@pytest.mark.parametrize(("language", "words"), [
    ("nl", ("Kies uw bank", "Betaald", "Annuleren en terug", "Betaal € 0,01")),
    ("de", ("Wählen Sie Ihre Bank", "Bezahlt", "Abbrechen und zurück", "0,01 € bezahlen")),
    ("fr", ("Choisissez votre banque", "Payé", "Annuler et revenir", "Payer 0,01 €")),
])
def test_the_sandbox_ideal_page_speaks_the_customers_language(
        app: Flask, client: FlaskClient, session: Session, language: str,
        words: tuple[str, ...]) -> None:
    invitation = make_invitation(session, locale=language)
    session.commit()
    path = _path(app, invitation)
    form = client.get(path)  # the customer's language, as the merchant set it
    started = client.post(path, data={"csrf_token": csrf_token(form), "name": "Sam de Vries",
                                      "email": "sam@example.org", "iban": "NL91ABNA0417164300",
                                      "consent": "y"})
    assert started.status_code == 303
    checkout = client.get(started.headers["Location"].removeprefix("http://localhost"))
    text = _text(checkout)
    assert _html_lang(text) == language
    for word in words:
        assert word.replace(" ", NBSP) in text.replace(" ", NBSP), word


@pytest.mark.parametrize("language", LANGUAGES)
def test_catalog_translates_every_message(language: str, template: Catalog) -> None:
    catalog = _read_po(TRANSLATIONS / language / "LC_MESSAGES" / "messages.po", language)
    wanted = {message.id for message in template if message.id}

    assert {message.id for message in catalog if message.id} == wanted
    assert not catalog.obsolete and not catalog.fuzzy
    for message in catalog:
        if not message.id:
            continue
        assert message.string.strip(), f"{language}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{language}: fuzzy {message.id!r}"
        assert set(PLACEHOLDER.findall(message.string)) == set(PLACEHOLDER.findall(message.id)), (
            f"{language}: placeholders differ in {message.string!r}")
    assert not list(catalog.check()), f"{language}: babel reports format errors"


@pytest.mark.parametrize("language", LANGUAGES)
def test_compiled_catalog_matches_its_po(language: str) -> None:
    """The committed .mo is what the portal reads; it must be compiled from the current .po."""
    folder = TRANSLATIONS / language / "LC_MESSAGES"
    source = {message.id: message.string
              for message in _read_po(folder / "messages.po", language) if message.id}
    with (folder / "messages.mo").open("rb") as handle:
        compiled = {message.id: message.string for message in read_mo(handle) if message.id}
    assert compiled == source, "recompile: .venv/bin/pybabel compile -d portal/translations"


def test_wtforms_own_messages_follow_the_request_language_from_a_catalog_read_once(
        app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """Flask-WTF would read and parse WTForms' catalog from disk on every request with a form;
    the portal reads each language's once and still answers in the request's language."""
    from babel import support
    from flask_wtf.i18n import translations

    from portal import i18n

    i18n._wtforms_catalog.cache_clear()
    loads: list[str] = []
    load = support.Translations.load

    def counted(dirname, locales, domain):
        loads.append(str(locales[0]))
        return load(dirname, locales, domain)

    monkeypatch.setattr(support.Translations, "load", counted)
    answers = []
    for lang in ("nl", "nl", "de", "nl"):
        with app.test_request_context(f"/?lang={lang}"):
            app.preprocess_request()
            answers.append(translations.gettext("Not a valid choice."))
    assert answers == ["Ongeldige keuze.", "Ongeldige keuze.", "Keine gültige Auswahl.",
                       "Ongeldige keuze."]
    assert loads == ["nl", "de"]
