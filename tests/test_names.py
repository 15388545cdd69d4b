"""One rule for names everywhere: NFC, no control characters, no bidi overrides or isolates;
and names stored before the rule are made safe for display."""

from __future__ import annotations

import pytest

from portal.names import InvalidName, clean_name, displayable_name, name_problem


@pytest.mark.parametrize("value", ["Eve\r\nBcc: x@example.org", "Eve\x00", "Eve\x1b[2J", "Eve\x7f",
                                   "Eve\x85", "Eve\x9b", "Eve\u2028", "Eve\u2029", "\u202aEve",
                                   "Eve\u202b", "Eve\u202c", "Eve\u202d", "Eve\u202e",
                                   "Eve\u2066", "Eve\u2067", "Eve\u2068", "Eve\u2069", "Eve\tX"])
def test_control_line_break_and_bidi_characters_are_refused(value: str) -> None:
    assert name_problem(value)
    with pytest.raises(InvalidName):
        clean_name(value)


@pytest.mark.parametrize("value", ["Sam de Vries", "Zoë O'Brien-Ünal", "محمد", "李小龙",
                                   "Anne\u200eMarie", "Bakkerij B.V. & Zn."])
def test_ordinary_names_in_any_script_pass(value: str) -> None:
    assert name_problem(value) is None and clean_name(value) == value


def test_names_are_nfc_normalised_stripped_and_bounded() -> None:
    assert clean_name("  Zoe\u0301 ") == "Zo\u00e9"
    with pytest.raises(InvalidName, match="is required"):
        clean_name("   ")
    with pytest.raises(InvalidName, match="at most 5"):
        clean_name("Wilhelmina", max_length=5)


def test_stored_names_are_made_displayable() -> None:
    assert displayable_name("Eve\r\nBcc: x@example.org") == "Eve Bcc: x@example.org"
    assert displayable_name("Bakkerij\u202e Bol\x00") == "Bakkerij Bol"
    assert displayable_name(None) == ""
