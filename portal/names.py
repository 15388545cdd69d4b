"""Names of people and merchants: one rule wherever a name enters the portal (signing form, API,
command line, console), and a safe form of names already stored, for mail headers.

A name is NFC-normalised text without control characters (C0, DEL, C1, line and paragraph
separators: they break mail headers and logs) and without bidirectional embeddings, overrides
or isolates (U+202A–U+202E, U+2066–U+2069: they make a name read differently from what it is).
"""

from __future__ import annotations

import re
import unicodedata

#: Bidirectional embeddings, overrides and isolates.
BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
#: What JSON Schema (ECMA-262) patterns accept as a name: the same rule, for the API document.
NAME_PATTERN = "^[^\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069]*$"


class InvalidName(ValueError):
    """The text cannot be a name; the message says why, to follow the field's name ("is
    required"), in English for the API and the command line."""


def _refused(char: str) -> bool:
    return unicodedata.category(char) in ("Cc", "Zl", "Zp") or char in BIDI_CONTROLS


def name_problem(value: str) -> str | None:
    """Why ``value`` cannot be a name, or None."""
    if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in value):
        return "must not contain control characters or line breaks"
    if any(c in BIDI_CONTROLS for c in value):
        return "must not contain text direction override characters"
    return None


def clean_name(value: str, *, max_length: int | None = None) -> str:
    """``value`` NFC-normalised and stripped; InvalidName if it breaks the rule, is blank, or is
    longer than ``max_length`` characters."""
    problem = name_problem(value)
    if problem:
        raise InvalidName(problem)
    cleaned = unicodedata.normalize("NFC", value).strip()
    if not cleaned:
        raise InvalidName("is required")
    if max_length is not None and len(cleaned) > max_length:
        raise InvalidName(f"must be at most {max_length} characters")
    return cleaned


def displayable_name(value: str | None) -> str:
    """A stored name made safe to show in a header or a line of text: every refused character
    becomes a space (names stored before the rule, or by an older version, still work)."""
    text = "".join(" " if _refused(c) else c for c in unicodedata.normalize("NFC", value or ""))
    return re.sub(" {2,}", " ", text).strip(" ")  # a no-break space stays as it is
