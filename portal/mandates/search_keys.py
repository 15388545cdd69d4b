"""The normalised keys a mandate is found by, one rule each: what is stored is what a typed query
is reduced to, so 'md-7k3q 9xw2' finds 'MD-7K3Q-9XW2-…' and 'jose' finds 'José'.

Pure functions, used by the model listeners (``portal/mandates/models.py``), the migration that
backfills them, the bench's bulk seed and the console's search."""

from __future__ import annotations

import re
import unicodedata
from typing import Any

#: Letters NFKD does not take apart: folded by hand so 'Øster' and 'Łukasz' are found unaccented.
_LETTERS = str.maketrans({"ø": "o", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "æ": "ae",
                          "œ": "oe", "ı": "i", "ħ": "h", "ŧ": "t"})
_WORD = re.compile(r"[^\W_]+")
_NOT_ALNUM = re.compile(r"[^0-9A-Z]+")
#: Where a part of an email address starts: its beginning and after each separator.
_EMAIL_SEPARATORS = frozenset("._+-@")
#: The longest stored term (the column's length); longer ones are cut, as a query would be.
TERM_LENGTH = 254


def fold(text: str) -> str:
    """Lower case without accents: 'Ångström-Ødegård' -> 'angstrom-odegard'."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.translate(_LETTERS)


def name_words(name: str) -> list[str]:
    """The folded words of a name, each a term that a query's word may be the start of."""
    return list(dict.fromkeys(word[:TERM_LENGTH] for word in _WORD.findall(fold(name))))


def email_terms(email: str) -> list[str]:
    """The address from each of its parts on: 'sam.de-vries@ex.org' gives 'sam.de-vries@ex.org',
    'de-vries@ex.org', 'vries@ex.org', 'ex.org', 'org'; a partial email is the start of one."""
    address = fold(email.strip())
    starts = [0] + [i + 1 for i, c in enumerate(address) if c in _EMAIL_SEPARATORS]
    return list(dict.fromkeys(address[i:][:TERM_LENGTH] for i in starts if address[i:]))


def email_query(query: str) -> str:
    return fold(query.strip())[:TERM_LENGTH]


def compact_key(text: str) -> str:
    """Letters and digits only, upper case, unaccented: the key of a mandate reference or of
    a merchant's customer reference, typed with or without separators."""
    return _NOT_ALNUM.sub("", fold(text).upper())[:TERM_LENGTH]


def reference_key(reference: str) -> str:
    return compact_key(reference)


def iban_last4(iban_masked: str | None) -> str | None:
    """The last four characters of the account, as the masked IBAN already shows them."""
    if not iban_masked:
        return None
    compact = iban_masked.replace(" ", "")
    tail = compact[-4:]
    return tail if len(tail) == 4 and "•" not in tail else None


def customer_terms(name: str | None, email: str | None,
                   external_reference: str | None) -> list[tuple[str, str]]:
    """Every (kind, term) a customer is found by."""
    terms = [("name", word) for word in name_words(name or "")]
    terms += [("email", term) for term in email_terms(email or "")]
    if external_reference and (key := compact_key(external_reference)):
        terms.append(("ext", key))
    return terms


def customer_term_rows(customer_id: int, merchant_id: int, name: str | None,
                       email: str | None, external_reference: str | None) -> list[dict[str, Any]]:
    """The ``customer_search_term`` rows of one customer."""
    return [{"customer_id": customer_id, "merchant_id": merchant_id, "kind": kind, "term": term}
            for kind, term in customer_terms(name, email, external_reference)]


def mandate_keys(reference: str | None, iban_masked: str | None) -> dict[str, str | None]:
    """The search columns of one mandate row."""
    return {"reference_key": reference_key(reference) if reference else None,
            "iban_last4": iban_last4(iban_masked)}
