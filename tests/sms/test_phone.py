"""Phone numbers as typed by merchants, normalised to E.164 or refused."""

from __future__ import annotations

import pytest

from portal.sms.phone import PhoneError, can_receive_sms, normalise_phone


@pytest.mark.parametrize(("typed", "e164"), [
    ("+31612345678", "+31612345678"),
    ("+31 6 1234 5678", "+31612345678"),
    ("0031 6-12 34 56 78", "+31612345678"),
    ("+49 (151) 2345.6789", "+4915123456789"),
    ("+33 6 12 34 56 78", "+33612345678"),
    ("+32 470 12 34 56", "+32470123456"),
    ("+1 201-555-0123", "+12015550123"),
])
def test_valid_numbers_become_e164(typed: str, e164: str) -> None:
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize(("typed", "why"), [
    ("0612345678", "international number"),  # no country code: we do not guess
    ("+31 6 1234", "Not a valid phone number for its country"),  # too short for NL
    ("+31 6 1234 5678 9", "Not a valid phone number for its country"),
    ("+999 123456789", "unknown country code"),
    ("+31 6 12ab 5678", "international number"),
    ("+31/612345678", "international number"),
    ("", "international number"),
])
def test_invalid_numbers_are_refused(typed: str, why: str) -> None:
    with pytest.raises(PhoneError, match=why):
        normalise_phone(typed)


def test_landlines_cannot_receive_text_messages() -> None:
    assert can_receive_sms("+31612345678") and can_receive_sms("+4915123456789")
    assert not can_receive_sms("+31201234567")  # Amsterdam landline
    assert not can_receive_sms("+498001234567")  # German toll-free
