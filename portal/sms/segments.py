"""How many SMS segments a text costs (GSM 03.38), and making a text fit the GSM alphabet.

GSM-7: 160 septets in one segment, 153 per segment of a longer message (the rest is the
concatenation header); characters of the extension table cost two septets (escape + char) and
a pair is never split across segments. Any character outside both tables switches the whole
message to UCS-2: 70 UTF-16 units in one segment, 67 per segment otherwise, never splitting a
surrogate pair."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

#: The GSM 03.38 default alphabet (the escape code 0x1B itself excluded).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà")
#: The extension table: two septets each.
GSM_EXTENDED = frozenset("\f^{}\\[~]|€")

GSM_SINGLE, GSM_PART = 160, 153
UCS2_SINGLE, UCS2_PART = 70, 67

#: Common characters outside the GSM alphabet and their closest GSM spelling.
_LOOKALIKES = {"‘": "'", "’": "'", "‚": "'", "“": '"', "”": '"', "„": '"', "«": '"', "»": '"',
               "–": "-", "—": "-", "…": "...", "\u00a0": " ", "\u202f": " ", "ç": "c",
               "œ": "oe", "Œ": "OE", "ł": "l", "Ł": "L", "đ": "d", "Đ": "D", "ı": "i"}


@dataclass(frozen=True)
class Segments:
    """``encoding`` "GSM-7" or "UCS-2"; ``units`` septets or UTF-16 code units; ``count``
    segments the network will carry."""

    encoding: str
    units: int
    count: int


def is_gsm(text: str) -> bool:
    return all(c in GSM_BASIC or c in GSM_EXTENDED for c in text)


def _pack(costs: list[int], single: int, part: int) -> int:
    """Segments needed for characters of these costs, no character split across two."""
    if sum(costs) <= single:
        return 1
    count, used = 1, 0
    for cost in costs:
        if used + cost > part:
            count, used = count + 1, 0
        used += cost
    return count


def count_segments(text: str) -> Segments:
    if is_gsm(text):
        costs = [2 if c in GSM_EXTENDED else 1 for c in text]
        return Segments("GSM-7", sum(costs), _pack(costs, GSM_SINGLE, GSM_PART))
    costs = [2 if ord(c) > 0xFFFF else 1 for c in text]
    return Segments("UCS-2", sum(costs), _pack(costs, UCS2_SINGLE, UCS2_PART))


def to_gsm(text: str) -> str:
    """The text in the GSM alphabet: accents dropped where GSM lacks the accented letter
    (``ő`` → ``o``), typographic quotes and dashes made plain, anything else ``?``."""
    out = []
    for char in text:
        if char in GSM_BASIC or char in GSM_EXTENDED:
            out.append(char)
        elif char in _LOOKALIKES:
            out.append(_LOOKALIKES[char])
        else:
            base = "".join(c for c in unicodedata.normalize("NFKD", char)
                           if not unicodedata.combining(c))
            out.append(base if base and is_gsm(base) else "?")
    return "".join(out)


def septets(text: str) -> int:
    """GSM-7 length of a text already in the GSM alphabet."""
    return sum(2 if c in GSM_EXTENDED else 1 for c in text)
