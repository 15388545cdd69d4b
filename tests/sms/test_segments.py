"""SMS segment counting (GSM 03.38 and UCS-2) and spelling texts in the GSM alphabet."""

from __future__ import annotations

import pytest

from portal.sms.segments import GSM_BASIC, GSM_EXTENDED, count_segments, is_gsm, to_gsm

A = "a"


@pytest.mark.parametrize(("text", "encoding", "units", "count"), [
    ("", "GSM-7", 0, 1),
    ("Hello", "GSM-7", 5, 1),
    (A * 160, "GSM-7", 160, 1),
    (A * 161, "GSM-7", 161, 2),  # a second segment: 153 + 8
    (A * 306, "GSM-7", 306, 2),
    (A * 307, "GSM-7", 307, 3),
    ("€" * 80, "GSM-7", 160, 1),  # extension characters cost two septets
    ("€" * 81, "GSM-7", 162, 2),
    ("{}[]~|^\\" * 10, "GSM-7", 160, 1),
    (A * 159 + "€", "GSM-7", 161, 2),
    (A * 152 + "€" + A * 152, "GSM-7", 306, 3),  # the escape pair is not split at 153
    ("àéèùìòÄÖÜäöüñÑßÅåÆæØøÇÉ£¥§¿¡ΔΦΓΛΩΠΨΣΘΞ", "GSM-7", 38, 1),
    ("Prélèvement", "GSM-7", 11, 1),
    ("Tête-à-tête", "UCS-2", 11, 1),  # ê is not in the GSM alphabet
    ("ê" * 70, "UCS-2", 70, 1),
    ("ê" * 71, "UCS-2", 71, 2),
    ("ê" * 134, "UCS-2", 134, 2),
    ("ê" * 135, "UCS-2", 135, 3),
    ("😀" * 35, "UCS-2", 70, 1),  # outside the BMP: a surrogate pair, two units
    ("😀" * 36, "UCS-2", 72, 2),
    ("ê" * 66 + "😀" + "ê" * 66, "UCS-2", 134, 3),  # the pair is not split at 67
    ("Łódź", "UCS-2", 4, 1),
])
def test_segments(text: str, encoding: str, units: int, count: int) -> None:
    segments = count_segments(text)
    assert (segments.encoding, segments.units, segments.count) == (encoding, units, count)


def test_the_alphabet_has_127_basic_and_10_extension_characters() -> None:
    assert len(GSM_BASIC) == 127 and len(GSM_EXTENDED) == 10
    assert "\x1b" not in GSM_BASIC


@pytest.mark.parametrize(("text", "gsm"), [
    ("Łódź", "Lodz"),
    ("Crème brûlée", "Crème brulée"),
    ("“Quoted” – dash…", '"Quoted" - dash...'),
    ("François Œuvre", "Francois OEuvre"),
    ("Ørsted Åkerlund", "Ørsted Åkerlund"),
    ("Bäckerei Müller", "Bäckerei Müller"),
    ("中文 ☕", "?? ?"),
])
def test_to_gsm_keeps_what_gsm_has_and_spells_the_rest(text: str, gsm: str) -> None:
    assert to_gsm(text) == gsm and is_gsm(to_gsm(text))
