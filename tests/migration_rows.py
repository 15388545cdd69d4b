"""Rows written straight into a schema at an older revision, for migration tests (no ORM: the
models describe the newest schema)."""

from __future__ import annotations

from datetime import datetime
from typing import Any


def merchant_row(now: datetime, **extra: Any) -> dict[str, Any]:
    """Merchant 1 with the columns every revision since the first requires."""
    return {"id": 1, "public_id": "mer_aaaaaaaaaaaa", "legal_name": "M", "address_line": "A",
            "postal_code": "1", "city": "C", "country": "NL",
            "creditor_id": "NL69ZZZ123456780000", "display_name": "M",
            "primary_colour": "#000000", "locale": "nl", "frame_origins": [], "created_at": now,
            **extra}
