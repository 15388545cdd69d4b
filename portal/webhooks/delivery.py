"""What one attempt sends: the event's JSON body (the same bytes every time) and the Standard
Webhooks headers, signed by every secret currently valid for the merchant."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from portal.clock import wire_time
from portal.webhooks.signature import signature_header

USER_AGENT = "MandatePortal-Webhooks/1.0"


class EventFields(Protocol):
    public_id: str
    type: str
    created_at: datetime
    data: dict[str, Any]


def event_body(event: EventFields) -> bytes:
    """The JSON body, byte-identical on every attempt (the signature covers these bytes)."""
    payload = {"id": event.public_id, "type": event.type,
               "created_at": wire_time(event.created_at), "data": event.data}
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def request_headers(secrets: Sequence[str], msg_id: str, body: bytes, now: datetime,
                    public_base_url: str) -> dict[str, str]:
    """Standard Webhooks headers, signed by every secret currently valid for the merchant
    (``signing_secrets``: opened once per endpoint for a whole claimed batch)."""
    timestamp = int(now.timestamp())
    return {
        "content-type": "application/json",
        "user-agent": f"{USER_AGENT} (+{public_base_url})",
        "accept-encoding": "identity",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(secrets, msg_id, timestamp, body),
    }
