"""Bounces: a delivery status notification (RFC 3464) about one of our invitation mails marks
the invitation's delivery failed when it reports a permanent failure (``Action: failed``,
``Status: 5.x.x``). Delays (4.x.x) change nothing; the mail server keeps trying."""

from __future__ import annotations

import email
import re
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import Message

from sqlalchemy.orm import Session

from portal.mandates.delivery import invitation_by_id, record_failure

#: Our Message-IDs end in ``.<public id>@<domain>`` (see ``portal.mail.messages``).
_INVITATION_IN_ID = re.compile(r"\.(inv_[0-9A-Za-z]{10,40})@")


@dataclass(frozen=True)
class Bounce:
    invitation: str
    status: str
    diagnostic: str


def _original_message_id(report: Message) -> str | None:
    for part in report.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload()
            inner = inner[0] if isinstance(inner, list) and inner else inner
            if isinstance(inner, Message) and inner.get("Message-ID"):
                return str(inner["Message-ID"])
        elif kind == "text/rfc822-headers":
            headers = email.message_from_string(part.get_content(), policy=policy.default)
            if headers.get("Message-ID"):
                return str(headers["Message-ID"])
    return None


def _permanent_failure(report: Message) -> tuple[str, str] | None:
    """(status, diagnostic) of the first recipient that failed for good, or None."""
    for part in report.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for fields in part.get_payload() or []:
            action = str(fields.get("Action", "")).strip().lower()
            status = str(fields.get("Status", "")).strip()
            if action == "failed" and status.startswith("5"):
                diagnostic = " ".join(str(fields.get("Diagnostic-Code", "")).split())
                return status, diagnostic[:200]
    return None


def parse_bounce(raw: bytes) -> Bounce | None:
    """The invitation a hard bounce is about, or None (not a DSN, not ours, not permanent)."""
    report = email.message_from_bytes(raw, policy=policy.default)
    failure = _permanent_failure(report)
    message_id = _original_message_id(report)
    match = _INVITATION_IN_ID.search(message_id or "")
    if failure is None or match is None:
        return None
    return Bounce(match.group(1), *failure)


def record_bounce(session: Session, bounce: Bounce, *, now: datetime) -> bool:
    """Mark the invitation's delivery failed; False if the invitation is unknown."""
    invitation = invitation_by_id(session, bounce.invitation)
    if invitation is None:
        return False
    reason = f"bounce {bounce.status}" + (f": {bounce.diagnostic}" if bounce.diagnostic else "")
    record_failure(session, invitation, "email", reason, now=now)
    return True
