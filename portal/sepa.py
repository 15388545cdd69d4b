"""SEPA rules the portal relies on: IBAN, BIC, creditor identifier, mandate reference, text.

Framework-free on purpose: views, forms, the API and the pain.008 writer all call these
functions. Every validation error carries a stable ``code`` and ``params`` so the web layer
can translate it; the English texts in the ``*_ERROR_MESSAGES`` tables are only defaults.
"""

from __future__ import annotations

import re
import secrets
import string
import unicodedata
import warnings
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import ClassVar

from schwifty import BIC, IBAN
from schwifty.exceptions import (
    InvalidBBANChecksum,
    InvalidChecksumDigits,
    InvalidCountryCode,
    InvalidLength,
    InvalidStructure,
    NationalChecksumNotVerified,
    SchwiftyException,
)

__all__ = [
    "BIC_ERROR_MESSAGES",
    "CREDITOR_ID_ERROR_MESSAGES",
    "IBAN_ERROR_MESSAGES",
    "MANDATE_REFERENCE_ALPHABET",
    "MANDATE_REFERENCE_ERROR_MESSAGES",
    "MANDATE_REFERENCE_MAX_LENGTH",
    "SEPA_CHARSET",
    "SEPA_COUNTRIES",
    "BankAccount",
    "BicError",
    "CreditorIdError",
    "IbanError",
    "MandateReferenceError",
    "SepaError",
    "creditor_id_business_code",
    "format_iban",
    "generate_mandate_reference",
    "make_creditor_id",
    "mask_iban",
    "normalize_iban",
    "to_sepa_text",
    "validate_bic",
    "validate_creditor_id",
    "validate_iban",
    "validate_mandate_reference",
]

#: Country codes inside the geographical scope of the EPC's SEPA schemes (EPC409-09, "EPC list
#: of SEPA scheme countries"), as of 2025. Kept here rather than taken from schwifty's
#: ``in_sepa_zone``, which in 2026.10 wrongly includes NC, PF, WF and TF (XPF territories,
#: outside SEPA) and misses AL and ME (in scope since Nov 2024) and MD and MK (since Mar 2025).
#: Azores, Madeira, the Canary Islands, Ceuta and Melilla use PT and ES IBANs, so they are
#: covered by their country's code.
SEPA_COUNTRIES: frozenset[str] = frozenset(
    {
        # EU member states
        "AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU",
        "IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK",
        # rest of the EEA
        "IS", "LI", "NO",
        # other participating countries
        "AD", "AL", "CH", "GB", "MC", "MD", "ME", "MK", "SM", "VA",
        # territories with their own ISO 3166 code
        "AX",  # Åland (FI)
        "BL", "GF", "GP", "MF", "MQ", "PM", "RE", "YT",  # French overseas
        "GI",  # Gibraltar
        "GG", "IM", "JE",  # Guernsey, Isle of Man, Jersey
    }
)  # fmt: skip

#: The Latin character set every SEPA participant must support (EPC217-08).
SEPA_CHARSET: frozenset[str] = frozenset(string.ascii_letters + string.digits + "/-?:().,'+ ")

MANDATE_REFERENCE_MAX_LENGTH = 35

#: Crockford's base-32 alphabet: no I, L, O or U, so references survive being read aloud.
MANDATE_REFERENCE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"


class SepaError(ValueError):
    """A rule violation with a stable ``code`` and format ``params`` for translation."""

    messages: ClassVar[Mapping[str, str]] = {}

    def __init__(self, code: str, **params: object) -> None:
        self.code = code
        self.params: dict[str, object] = params
        self.message = self.messages[code].format(**params)
        super().__init__(self.message)

    def __reduce__(self) -> tuple[object, ...]:
        # Rebuild from code and params, so the error survives pickling (task queues, workers).
        return (partial(type(self), self.code, **self.params), ())


IBAN_ERROR_MESSAGES: dict[str, str] = {
    "empty": "Enter an IBAN.",
    "invalid_characters": "An IBAN contains only letters and digits; remove {characters}.",
    "unknown_country": "An IBAN starts with a country code; {country} is not one.",
    "not_sepa": "{country} IBANs can't be used for SEPA Direct Debit.",
    "wrong_length": "{country} IBANs have {expected} characters; you entered {actual}.",
    "wrong_check_digits": "This IBAN's check digits don't match; please check for typos.",
    "invalid_structure": "This is not a valid {country} account number; please check for typos.",
}

BIC_ERROR_MESSAGES: dict[str, str] = {
    "empty": "Enter a BIC.",
    "wrong_length": "A BIC has 8 or 11 characters; you entered {actual}.",
    "invalid_structure": "A BIC is 4 letters or digits, a country code and a location code.",
    "unknown_country": "{country} in this BIC is not a country code.",
}

CREDITOR_ID_ERROR_MESSAGES: dict[str, str] = {
    "empty": "Enter a creditor identifier.",
    "invalid_format": (
        "A creditor identifier is a country code, 2 check digits, a 3-character business code "
        "and up to 28 letters or digits, e.g. DE98ZZZ09999999999."
    ),
    "not_sepa": "{country} creditor identifiers can't be used for SEPA Direct Debit.",
    "wrong_check_digits": "This creditor identifier's check digits don't match.",
}

MANDATE_REFERENCE_ERROR_MESSAGES: dict[str, str] = {
    "empty": "Enter a mandate reference.",
    "too_long": "A mandate reference has at most {max_length} characters; this has {actual}.",
    "invalid_characters": (
        "A mandate reference may contain only A-Z, a-z, 0-9 and / - ? : ( ) . , ' +; "
        "remove {characters}."
    ),
    "invalid_slashes": "A mandate reference must not start or end with '/' nor contain '//'.",
}


class IbanError(SepaError):
    """The text is not an IBAN the portal can collect from."""

    messages = IBAN_ERROR_MESSAGES


class BicError(SepaError):
    """The text is not an ISO 9362 BIC."""

    messages = BIC_ERROR_MESSAGES


class CreditorIdError(SepaError):
    """The text is not a SEPA creditor identifier."""

    messages = CREDITOR_ID_ERROR_MESSAGES


class MandateReferenceError(SepaError):
    """The text breaks the EPC rules for a unique mandate reference."""

    messages = MANDATE_REFERENCE_ERROR_MESSAGES


@dataclass(frozen=True, slots=True)
class BankAccount:
    """A validated SEPA account; ``bic`` and ``bank_name`` only where schwifty knows the bank."""

    iban: str
    formatted: str
    country: str
    bic: str | None
    bank_name: str | None


# Separators people paste: whitespace (incl. no-break spaces), dashes, dots, zero-width chars.
_IBAN_SEPARATORS_RE = re.compile(r"[\s\-.\u2010-\u2015\u2212\u200b-\u200d\u2060\ufeff]+")
_IBAN_PREFIX_RE = re.compile(r"^IBAN:?", re.IGNORECASE)
_ALPHANUMERIC = frozenset(string.ascii_uppercase + string.digits)


def _ascii_upper(text: str) -> str:
    # str.upper() would turn e.g. 'ı' into 'I' or 'ß' into 'SS' and smuggle them past validation.
    return "".join(c.upper() if c.isascii() else c for c in text)


def _quoted(characters: list[str]) -> str:
    return ", ".join(f"'{c}'" for c in characters)


def _mod97_check_digits(payload: str) -> str:
    """ISO 7064 mod 97-10 check digits of ``payload`` (A-Z0-9, letters count as 10..35)."""
    number = int("".join(str(int(c, 36)) for c in payload + "00"))
    return f"{98 - number % 97:02d}"


def normalize_iban(text: str) -> str:
    """Electronic form: separators and a leading 'IBAN' removed, ASCII letters uppercased."""
    compact = _IBAN_SEPARATORS_RE.sub("", text)
    return _ascii_upper(_IBAN_PREFIX_RE.sub("", compact))


def format_iban(iban: str) -> str:
    """Print form: the electronic form in groups of four, e.g. 'NL91 ABNA 0417 1643 00'."""
    compact = normalize_iban(iban)
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


def mask_iban(iban: str) -> str:
    """Show country code, check digits and the last 4 characters; mask the rest with '•'.

    Grouped like :func:`format_iban`: 'NL91ABNA0417164300' -> 'NL91 •••• •••• ••43 00'.
    Anything of 8 characters or fewer keeps only its country code, so the result never shows
    more than the last 4 characters of the account. Every character of the IBAN is masked or
    shown, none dropped: a leading 'IBAN' (which :func:`normalize_iban` strips from typed text)
    is not an IBAN's, so 'IBAN' masks to 'IB••', not to nothing.
    """
    compact = _ascii_upper(_IBAN_SEPARATORS_RE.sub("", iban))
    if len(compact) <= 8:
        masked = compact[:2] + "•" * (len(compact) - 2)
    else:
        masked = compact[:4] + "•" * (len(compact) - 8) + compact[-4:]
    return " ".join(masked[i : i + 4] for i in range(0, len(masked), 4))


def validate_iban(text: str) -> BankAccount:
    """Check ``text`` is an IBAN of a SEPA country; raise :class:`IbanError` otherwise.

    Checks run from the coarsest to the finest so the message is the most helpful one:
    empty, characters, country, SEPA membership, length, check digits, national structure
    and national check digits (where schwifty has the country's algorithm).
    """
    compact = normalize_iban(text)
    if not compact:
        raise IbanError("empty")
    invalid = sorted(set(compact) - _ALPHANUMERIC)
    if invalid:
        raise IbanError("invalid_characters", characters=_quoted(invalid))
    country = compact[:2]
    iban = IBAN(compact, allow_invalid=True)
    try:
        spec = iban.spec
    except InvalidCountryCode:
        raise IbanError("unknown_country", country=country) from None
    if country not in SEPA_COUNTRIES:
        raise IbanError("not_sepa", country=country)
    if len(compact) != spec.iban_length:
        raise IbanError(
            "wrong_length", country=country, expected=spec.iban_length, actual=len(compact)
        )
    if compact[2:4] != _mod97_check_digits(compact[4:] + country):
        raise IbanError("wrong_check_digits", country=country)
    try:
        iban.validate()
        # schwifty warns where it has no algorithm for the national check digits; a host
        # running with warnings as errors must not turn "not verifiable" into a crash.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", NationalChecksumNotVerified)
            iban.bban.validate_national_checksum()
    except (InvalidStructure, InvalidBBANChecksum):
        raise IbanError("invalid_structure", country=country) from None
    except InvalidChecksumDigits:  # pragma: no cover - checked above
        raise IbanError("wrong_check_digits", country=country) from None
    except InvalidLength:  # pragma: no cover - checked above
        raise IbanError(
            "wrong_length", country=country, expected=spec.iban_length, actual=len(compact)
        ) from None
    except SchwiftyException:  # pragma: no cover - any future schwifty rule
        raise IbanError("invalid_structure", country=country) from None
    bic = iban.bic
    return BankAccount(
        iban=compact,
        formatted=format_iban(compact),
        country=country,
        bic=str(bic) if bic is not None else None,
        bank_name=iban.bank_name,
    )


def validate_bic(text: str) -> str:
    """Return the BIC (ISO 9362, 8 or 11 characters) uppercased without spaces."""
    compact = _ascii_upper(re.sub(r"\s+", "", text))
    if not compact:
        raise BicError("empty")
    if len(compact) not in (8, 11):
        raise BicError("wrong_length", actual=len(compact))
    if not set(compact) <= _ALPHANUMERIC:
        raise BicError("invalid_structure")
    try:
        BIC(compact)
    except InvalidCountryCode:
        raise BicError("unknown_country", country=compact[4:6]) from None
    except SchwiftyException:
        raise BicError("invalid_structure") from None
    return compact


# Country, check digits, creditor business code, national identifier (EPC262-08).
_CREDITOR_ID_RE = re.compile(r"([A-Z]{2})([0-9]{2})([A-Z0-9]{3})([A-Z0-9]{1,28})")


def validate_creditor_id(text: str) -> str:
    """Return the SEPA creditor identifier uppercased without spaces.

    The check digits are ISO 7064 mod 97-10 over the national identifier and country code;
    the business code (positions 5-7, usually 'ZZZ') is chosen by the creditor and excluded.
    """
    compact = _ascii_upper(re.sub(r"\s+", "", text))
    if not compact:
        raise CreditorIdError("empty")
    match = _CREDITOR_ID_RE.fullmatch(compact)
    if match is None:
        raise CreditorIdError("invalid_format")
    country, check_digits, _business_code, national_id = match.groups()
    if country not in SEPA_COUNTRIES:
        raise CreditorIdError("not_sepa", country=country)
    if check_digits != _mod97_check_digits(national_id + country):
        raise CreditorIdError("wrong_check_digits")
    return compact


def creditor_id_business_code(ci: str) -> str:
    """The creditor business code of a valid creditor identifier, e.g. 'ZZZ'."""
    return validate_creditor_id(ci)[4:7]


def make_creditor_id(country: str, national_id: str, business_code: str = "ZZZ") -> str:
    """Build a valid creditor identifier by computing its check digits (tests, demo data)."""
    country = _ascii_upper(country.strip())
    national_id = _ascii_upper(re.sub(r"\s+", "", national_id))
    business_code = _ascii_upper(business_code.strip())
    if not re.fullmatch(r"[A-Z]{2}", country) or not re.fullmatch(r"[A-Z0-9]{1,28}", national_id):
        raise CreditorIdError("invalid_format")
    if not re.fullmatch(r"[A-Z0-9]{3}", business_code):
        raise CreditorIdError("invalid_format")
    check_digits = _mod97_check_digits(national_id + country)
    return validate_creditor_id(country + check_digits + business_code + national_id)


_MANDATE_REFERENCE_CHARSET = SEPA_CHARSET - {" "}


def validate_mandate_reference(text: str) -> str:
    """Return the mandate reference stripped of surrounding whitespace, if the EPC allows it.

    At most 35 characters from the SEPA set without spaces; no leading or trailing '/', no '//'.
    Case is kept as entered.
    """
    reference = text.strip()
    if not reference:
        raise MandateReferenceError("empty")
    if len(reference) > MANDATE_REFERENCE_MAX_LENGTH:
        raise MandateReferenceError(
            "too_long", max_length=MANDATE_REFERENCE_MAX_LENGTH, actual=len(reference)
        )
    invalid = sorted(set(reference) - _MANDATE_REFERENCE_CHARSET)
    if invalid:
        raise MandateReferenceError("invalid_characters", characters=_quoted(invalid))
    if reference.startswith("/") or reference.endswith("/") or "//" in reference:
        raise MandateReferenceError("invalid_slashes")
    return reference


_REFERENCE_GROUPS = 3
_REFERENCE_GROUP_SIZE = 4
_REFERENCE_RANDOM_LENGTH = _REFERENCE_GROUPS * (_REFERENCE_GROUP_SIZE + 1)  # "-XXXX" x 3


def _secret_characters(count: int) -> str:
    return "".join(secrets.choice(MANDATE_REFERENCE_ALPHABET) for _ in range(count))


def generate_mandate_reference(
    prefix: str = "MD", random: Callable[[int], str] | None = None
) -> str:
    """A readable, unguessable mandate reference such as 'MD-7K3Q-9XW2-H4TP' (60 random bits).

    The prefix is transliterated, reduced to A-Z, 0-9 and inner '-', and cut to fit 35
    characters. ``random(n)`` must return ``n`` characters of MANDATE_REFERENCE_ALPHABET;
    it defaults to :mod:`secrets`. Uniqueness per creditor is the database's unique
    constraint: on a clash the caller generates a new reference and retries.
    """
    draw = random or _secret_characters
    count = _REFERENCE_GROUPS * _REFERENCE_GROUP_SIZE
    body = draw(count)
    if len(body) != count or not set(body) <= set(MANDATE_REFERENCE_ALPHABET):
        raise ValueError(f"random({count}) must return {count} characters of the alphabet")
    groups = [body[i : i + _REFERENCE_GROUP_SIZE] for i in range(0, count, _REFERENCE_GROUP_SIZE)]
    clean_prefix = re.sub(
        r"[^A-Z0-9]+", "-", to_sepa_text(prefix, MANDATE_REFERENCE_MAX_LENGTH).upper()
    )
    clean_prefix = clean_prefix[: MANDATE_REFERENCE_MAX_LENGTH - _REFERENCE_RANDOM_LENGTH]
    clean_prefix = clean_prefix.strip("-")
    return validate_mandate_reference("-".join([clean_prefix, *groups] if clean_prefix else groups))


# Letters NFKD does not decompose into basic Latin, and punctuation with a SEPA equivalent.
_TRANSLITERATIONS: dict[int, str] = str.maketrans(
    {
        "ß": "ss", "ẞ": "SS", "Æ": "AE", "æ": "ae", "Œ": "OE", "œ": "oe", "Ø": "O", "ø": "o",
        "Ł": "L", "ł": "l", "Đ": "D", "đ": "d", "Ð": "D", "ð": "d", "Þ": "TH", "þ": "th",
        "Ħ": "H", "ħ": "h", "ı": "i", "ĸ": "k", "Ŋ": "N", "ŋ": "n", "Ŧ": "T", "ŧ": "t",
        "&": "+", "‘": "'", "’": "'", "‚": "'", "‛": "'", "´": "'", "`": "'",
        "\"": "'", "“": "'", "”": "'", "„": "'", "«": "'", "»": "'",
        "–": "-", "—": "-", "‐": "-", "‑": "-", "−": "-", "_": "-",
    }
)  # fmt: skip


def to_sepa_text(text: str, max_length: int) -> str:
    """Transliterate free text (e.g. a debtor name) to the SEPA character set, at most
    ``max_length`` characters: 'Zoë Müller-Łukasz' -> 'Zoe Muller-Lukasz'.

    Accents are dropped, a few letters spelled out (ß -> ss, æ -> ae), anything else outside
    the set becomes a space; runs of spaces collapse and the ends are trimmed.
    """
    if max_length < 0:
        raise ValueError("max_length must not be negative")
    # After NFKD, so compatibility forms (fullwidth '＆', 'ﬀ') reach the table as plain chars.
    decomposed = unicodedata.normalize("NFKD", text).translate(_TRANSLITERATIONS)
    kept = "".join(
        c if c in SEPA_CHARSET else " " for c in decomposed if not unicodedata.combining(c)
    )
    return " ".join(kept.split())[:max_length].rstrip()
