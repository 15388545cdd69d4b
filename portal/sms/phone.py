"""Phone numbers: whatever the merchant typed, as E.164 (``+31612345678``), or a clear refusal.

Validated against the numbering plans (libphonenumber's data through ``phonenumbers``), so a
number of the right shape but a length or prefix no operator issues is refused too."""

from __future__ import annotations

import re

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat, PhoneNumberType

#: What may separate digits in a typed number.
_SEPARATORS = re.compile(r"[ ().\-]")
#: Types that cannot receive text messages.
_LANDLINE = {PhoneNumberType.FIXED_LINE, PhoneNumberType.TOLL_FREE,
             PhoneNumberType.PREMIUM_RATE, PhoneNumberType.SHARED_COST, PhoneNumberType.VOIP,
             PhoneNumberType.PAGER, PhoneNumberType.UAN, PhoneNumberType.VOICEMAIL}


class PhoneError(ValueError):
    """Not an international phone number we can use; the message says why."""


def normalise_phone(value: str) -> str:
    """E.164 from ``+31 6 1234 5678``, ``0031-6-12345678`` and the like; national numbers
    without a country code are refused (the portal does not guess the country)."""
    compact = _SEPARATORS.sub("", value)
    if compact.startswith("00"):
        compact = "+" + compact[2:]
    if not re.fullmatch(r"\+[1-9][0-9]{5,16}", compact):
        raise PhoneError("Must be an international number like +31612345678 (E.164).")
    try:
        number = phonenumbers.parse(compact, None)
    except NumberParseException:
        raise PhoneError("Not a valid phone number (unknown country code).") from None
    if not phonenumbers.is_valid_number(number):
        raise PhoneError("Not a valid phone number for its country.")
    return phonenumbers.format_number(number, PhoneNumberFormat.E164)


def can_receive_sms(e164: str) -> bool:
    """False for numbers known to be landlines or service numbers; mobile and unknown: True."""
    return phonenumbers.number_type(phonenumbers.parse(e164, None)) not in _LANDLINE
