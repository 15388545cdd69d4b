"""Invitation and reminder texts: the customer's language, the short link, one GSM-7 segment."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.sms.messages import invitation_sms
from portal.sms.segments import count_segments

LINK = "https://mandates.bakkerij-bol.example/s/Ab3dE6gH9k"
WORDS = {"en": "direct debit mandate", "nl": "machtiging voor automatische incasso",
         "de": "SEPA-Lastschriftmandat", "fr": "mandat de prélèvement SEPA"}


@pytest.fixture
def context(app: Flask):
    with app.app_context():
        yield


@pytest.mark.parametrize("reminder", [False, True])
@pytest.mark.parametrize("locale", sorted(WORDS))
def test_each_language_fits_one_gsm_segment_with_the_link(
        context: None, locale: str, reminder: bool) -> None:
    text = invitation_sms("Bakkerij Bol", LINK, locale, reminder=reminder)
    assert WORDS[locale] in text and text.endswith(LINK) and "Bakkerij Bol" in text
    segments = count_segments(text)
    assert (segments.encoding, segments.count) == ("GSM-7", 1)


def test_a_name_outside_the_gsm_alphabet_is_spelled_in_it_rather_than_costing_ucs2(
        context: None) -> None:
    text = invitation_sms("Piekarnia Łódź Żółć", LINK, "en")
    assert text.startswith("Piekarnia Lodz Zolc asks you")
    assert count_segments(text).encoding == "GSM-7"


def test_a_long_name_is_shortened_to_keep_one_segment(context: None) -> None:
    name = "Koninklijke Banketbakkerij en Chocolaterie Van der Heijden-Verstappen Holding B.V."
    text = invitation_sms(name, LINK, "nl", reminder=True)
    assert count_segments(text).count == 1 and count_segments(text).units <= 160
    assert text.startswith("Herinnering: Koninklijke Banketbakkerij") and text.endswith(LINK)


def test_a_name_that_fits_is_left_as_it_is(context: None) -> None:
    assert invitation_sms("Bäckerei Müller", LINK, "de").startswith("Bäckerei Müller bittet Sie")
