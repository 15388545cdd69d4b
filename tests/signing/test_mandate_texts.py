import re

import pytest

from signing.texts import (
    LOCALES,
    MANDATE_TEXT_VERSION,
    labels,
    mandate_text,
    mandate_title,
    signing_method_label,
)

REFUND_WITHIN_8_WEEKS = {
    "en": "refund must be claimed within 8 weeks",
    "nl": "binnen 8 weken na afschrijving",
    "de": "innerhalb von acht Wochen",
    "fr": "dans les 8 semaines",
}
NO_REFUND = {
    "en": "not entitled to a refund",
    "nl": "geen recht op terugboeking",
    "de": "nicht berechtigt, nach der erfolgten Einlösung eine Erstattung",
    "fr": "n’avez pas droit au remboursement",
}
BUSINESS_DECLARATION_AND_INFORM_BANK = {
    "en": ("not a consumer", "must inform your bank"),
    "nl": ("geen consument bent", "verplicht uw bank over deze machtiging te informeren"),
    "de": ("kein Verbraucher zu sein", "über dieses Mandat zu informieren"),
    "fr": ("ne pas être un consommateur", "devez informer votre banque"),
}


def test_text_version_is_a_dated_identifier():
    assert re.fullmatch(r"\d{4}-\d{2}-\d+", MANDATE_TEXT_VERSION)


@pytest.mark.parametrize("locale", LOCALES)
def test_core_text_grants_refund_within_8_weeks(locale):
    text = mandate_text("CORE", locale, "Club")
    assert REFUND_WITHIN_8_WEEKS[locale] in text
    assert NO_REFUND[locale] not in text


@pytest.mark.parametrize("locale", LOCALES)
def test_b2b_text_excludes_refund_and_has_business_declaration(locale):
    text = mandate_text("B2B", locale, "Club")
    assert NO_REFUND[locale] in text
    assert REFUND_WITHIN_8_WEEKS[locale] not in text
    for phrase in BUSINESS_DECLARATION_AND_INFORM_BANK[locale]:
        assert phrase in text


@pytest.mark.parametrize("scheme", ["CORE", "B2B"])
@pytest.mark.parametrize("locale", LOCALES)
def test_text_names_creditor_and_is_plain_paragraphs(scheme, locale):
    text = mandate_text(scheme, locale, "Acme <B.V.>")
    assert text.count("Acme <B.V.>") == 2  # plain text: escaping is the renderer's job
    paragraphs = text.split("\n\n")
    assert len(paragraphs) >= 2
    assert all(p and p == p.strip() and "\n" not in p for p in paragraphs)


@pytest.mark.parametrize("locale", ["es", "", "xx-YY"])
def test_unknown_locale_falls_back_to_english(locale):
    assert mandate_text("CORE", locale, "Club") == mandate_text("CORE", "en", "Club")


def test_regional_locale_uses_its_language():
    assert mandate_text("CORE", "nl-BE", "Club") == mandate_text("CORE", "nl", "Club")


def test_unknown_scheme_is_rejected():
    with pytest.raises(ValueError, match="scheme"):
        mandate_text("COR1", "en", "Club")


def test_titles_distinguish_scheme_and_sequence():
    assert mandate_title("CORE", "recurrent", "nl") == "Doorlopende machtiging SEPA"
    assert mandate_title("CORE", "one_off", "nl") == "Eenmalige machtiging SEPA"
    assert mandate_title("B2B", "recurrent", "nl") == "Doorlopende machtiging SEPA Bedrijvenincasso"
    assert mandate_title("CORE", "recurrent", "en") == "SEPA Direct Debit Mandate"
    assert "Business-to-Business" in mandate_title("B2B", "one_off", "en")


@pytest.mark.parametrize("locale", LOCALES)
def test_every_locale_has_every_label(locale):
    assert set(labels(locale)) == set(labels("en"))


def test_unknown_signing_method_is_shown_as_given():
    assert signing_method_label("carrier_pigeon", "en") == "carrier_pigeon"
    assert "iDEAL" in signing_method_label("payment_verification", "en")
