"""Plain data describing a signed mandate: who, what, and the evidence of signing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Scheme = Literal["CORE", "B2B"]
Sequence = Literal["recurrent", "one_off"]

SCHEMES: tuple[Scheme, ...] = ("CORE", "B2B")
SEQUENCES: tuple[Sequence, ...] = ("recurrent", "one_off")
DEFAULT_PRIMARY_COLOUR = "#1f3a5f"
MAX_LOGO_BYTES = 2 * 1024 * 1024

_HEX_COLOUR = re.compile(r"#[0-9a-fA-F]{6}")
_LOGO_SIGNATURES = {
    "image/png": lambda data: data.startswith(b"\x89PNG\r\n\x1a\n"),
    "image/jpeg": lambda data: data.startswith(b"\xff\xd8\xff"),
    "image/svg+xml": lambda data: b"<svg" in data[:4096],
}


def require_utc(value: datetime, name: str) -> datetime:
    """Reject naive datetimes so no wall-clock time ever reaches legal evidence."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware (UTC), got naive {value!r}")
    return value.astimezone(UTC)


def iso_utc(value: datetime) -> str:
    """ISO 8601 in UTC with a 'Z' suffix, e.g. '2026-11-25T14:03:07Z'."""
    text = value.astimezone(UTC).isoformat()
    return text.replace("+00:00", "Z")


@dataclass(frozen=True)
class Creditor:
    name: str
    address_lines: tuple[str, ...]
    country: str
    creditor_id: str


@dataclass(frozen=True)
class Debtor:
    name: str
    address_lines: tuple[str, ...]
    #: ISO 3166 country of the address; ``None`` when the debtor gave no address.
    country: str | None
    iban: str
    bic: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Branding:
    """How a creditor's mandates look; bad colours or logos fall back, never fail a signing."""

    display_name: str
    primary_colour: str = DEFAULT_PRIMARY_COLOUR
    logo: bytes | None = None
    logo_mime: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.primary_colour, str) or not _HEX_COLOUR.fullmatch(
            self.primary_colour
        ):
            object.__setattr__(self, "primary_colour", DEFAULT_PRIMARY_COLOUR)
        if not _is_usable_logo(self.logo, self.logo_mime):
            object.__setattr__(self, "logo", None)
            object.__setattr__(self, "logo_mime", None)


def _is_usable_logo(logo: bytes | None, mime: str | None) -> bool:
    if not logo or len(logo) > MAX_LOGO_BYTES:
        return False
    looks_like = _LOGO_SIGNATURES.get(mime or "")
    return looks_like is not None and looks_like(logo)


@dataclass(frozen=True)
class MandateDocument:
    """Everything the EPC rulebook requires printed on a SEPA mandate."""

    reference: str
    scheme: Scheme
    sequence: Sequence
    creditor: Creditor
    debtor: Debtor
    signed_at: datetime
    place: str
    signing_method: str
    locale: str
    text_version: str

    def __post_init__(self) -> None:
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {SCHEMES}, got {self.scheme!r}")
        if self.sequence not in SEQUENCES:
            raise ValueError(f"sequence must be one of {SEQUENCES}, got {self.sequence!r}")
        object.__setattr__(self, "signed_at", require_utc(self.signed_at, "signed_at"))


@dataclass(frozen=True)
class Evidence:
    """What happened at signing; embedded in the sealed PDF as evidence.json."""

    signer_name: str
    masked_iban: str
    signed_at: datetime
    ip: str
    user_agent: str
    method: str
    provider_payment_id: str | None
    bank_message_id: str | None
    locale: str
    text_version: str
    status_history: tuple[dict[str, Any], ...] = field(default=())
    #: Signed at the debtor's bank: the bank's validation reference, and the SHA-256 and
    #: signing certificate (SHA-1) of its pain.012, sealed beside this record.
    validation_reference: str | None = None
    bank_report_sha256: str | None = None
    bank_certificate_sha1: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "signed_at", require_utc(self.signed_at, "signed_at"))

    def to_json(self, document_sha256: str) -> bytes:
        """Canonical JSON (sorted keys, compact, UTF-8) naming the unsealed PDF's SHA-256."""
        record = {
            "bank_message_id": self.bank_message_id,
            "document_sha256": document_sha256,
            "ip": self.ip,
            "locale": self.locale,
            "masked_iban": self.masked_iban,
            "method": self.method,
            "provider_payment_id": self.provider_payment_id,
            "signed_at": iso_utc(self.signed_at),
            "signer_name": self.signer_name,
            "status_history": list(self.status_history),
            "text_version": self.text_version,
            "user_agent": self.user_agent,
        }
        bank = {"validation_reference": self.validation_reference,
                "bank_report_sha256": self.bank_report_sha256,
                "bank_certificate_sha1": self.bank_certificate_sha1}
        record.update({key: value for key, value in bank.items() if value is not None})
        return json.dumps(
            record,
            sort_keys=True,
            separators=(",", ":"),
            ensure_ascii=False,
            default=_json_value,
        ).encode("utf-8")


def _json_value(value: object) -> str:
    if isinstance(value, datetime):
        return iso_utc(require_utc(value, "status_history time"))
    raise TypeError(f"{type(value).__name__} is not JSON serialisable in evidence")
