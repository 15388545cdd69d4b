"""Opaque public identifiers with a type prefix (``md_…``, ``inv_…``); never row ids."""

from __future__ import annotations

import secrets

_ALPHABET = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

#: Prefixes in use, so an id says what it names.
PREFIXES = frozenset({"mer", "cus", "md", "inv", "evt", "pay", "cli", "whk", "job", "stf",
                      # console sessions; payments: requests, payments on them, refunds,
                      # chargebacks, stored provider mandates and card tokens
                      "ses", "preq", "ptx", "rfd", "cbk", "pmd",
                      # collections: debits, pain.008 batches, imported return files
                      "dbt", "bat", "rti",
                      # bank transactions (eMandates)
                      "btx",
                      # billing: invoices, payments entered on them, plans, subscriptions
                      "in", "ipm", "plan", "sub",
                      # console staff invitations; CSV batches uploaded in the console
                      "sti", "upl"})


def new_public_id(prefix: str, length: int = 22) -> str:
    """A random id like ``md_4fQx…``: 22 base62 characters carry about 131 bits."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def looks_like(public_id: str, prefix: str) -> bool:
    """Cheap shape check before a lookup (for clean 404s on garbage)."""
    head, _, body = public_id.partition("_")
    return head == prefix and 10 <= len(body) <= 40 and all(c in _ALPHABET for c in body)
