"""Creating and updating merchants, with every field validated before it is stored."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.clock import now as clock_now
from portal.ids import new_public_id
from portal.merchants.logo import LogoError, reencode_logo
from portal.merchants.models import Merchant
from portal.merchants.origins import frame_origin
from portal.names import InvalidName, clean_name
from portal.sepa import CreditorIdError, validate_creditor_id

COLOUR = re.compile(r"#[0-9a-fA-F]{6}")  # whole value: always fullmatch
LOCALES = ("nl", "en", "de", "fr")


class MerchantInputError(ValueError):
    """One or more fields are invalid; ``errors`` maps field name → message."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass(frozen=True)
class MerchantDetails:
    legal_name: str
    address_line: str
    postal_code: str
    city: str
    country: str
    creditor_id: str
    display_name: str | None = None
    primary_colour: str = "#1f4b99"
    locale: str = "nl"
    frame_origins: tuple[str, ...] = ()
    logo: bytes | None = None
    logo_mime: str | None = None


def normalise_origin(origin: str) -> str:
    """``https://shop.example`` form, or ValueError; http only for loopback development."""
    return frame_origin(origin)


def _validate(details: MerchantDetails) -> dict[str, object]:
    errors: dict[str, str] = {}
    values: dict[str, object] = {}
    for name, limit in (("legal_name", 140), ("address_line", 140), ("postal_code", 16),
                        ("city", 70)):
        try:
            values[name] = clean_name(getattr(details, name) or "", max_length=limit)
        except InvalidName as exc:
            errors[name] = str(exc)
    country = (details.country or "").strip().upper()
    if not re.fullmatch(r"[A-Z]{2}", country):
        errors["country"] = "must be a two-letter ISO 3166 country code"
    values["country"] = country
    try:
        values["creditor_id"] = validate_creditor_id(details.creditor_id)
    except CreditorIdError as exc:
        errors["creditor_id"] = str(exc)
    try:  # shown in mail headers, pages and texts: the same rule as the legal name
        display = clean_name(details.display_name or details.legal_name or "")
        values["display_name"] = display[:70].strip()
    except InvalidName as exc:
        if details.display_name or "legal_name" not in errors:
            errors["display_name"] = str(exc)
    if not COLOUR.fullmatch(details.primary_colour or ""):
        errors["primary_colour"] = "must be a colour like #1f4b99"
    values["primary_colour"] = (details.primary_colour or "").lower()
    if details.locale not in LOCALES:
        errors["locale"] = f"must be one of {', '.join(LOCALES)}"
    values["locale"] = details.locale
    try:
        values["frame_origins"] = sorted({normalise_origin(o) for o in details.frame_origins})
    except ValueError as exc:
        errors["frame_origins"] = str(exc)
    values["logo"], values["logo_mime"] = None, None
    if details.logo is not None:  # the console's rule: decoded and written anew, never as given
        try:
            values["logo"], values["logo_mime"] = reencode_logo(details.logo)
        except LogoError as exc:
            errors["logo"] = str(exc)
    if errors:
        raise MerchantInputError(errors)
    return values


def create_merchant(
    session: Session, details: MerchantDetails, *, actor: str = "system",
    now: datetime | None = None,
) -> Merchant:
    """Validate and add a merchant; a creditor identifier already in use is an input error."""
    values = _validate(details)
    if session.scalar(select(Merchant.id).where(Merchant.creditor_id == values["creditor_id"])):
        raise MerchantInputError({"creditor_id": "is already used by another merchant"})
    now = now or clock_now()
    merchant = Merchant(public_id=new_public_id("mer"), created_at=now, **values)
    session.add(merchant)
    session.flush()
    record_audit(session, action="merchant.create", subject=merchant.public_id, actor=actor,
                 merchant_id=merchant.id, data={"creditor_id": merchant.creditor_id}, now=now)
    return merchant


def find_by_creditor_id(session: Session, creditor_id: str) -> Merchant | None:
    return session.scalar(select(Merchant).where(Merchant.creditor_id == creditor_id))


def _address(value: str | None, field: str, errors: dict[str, str]) -> str | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        errors[field] = str(exc)
        return None


def update_contact(session: Session, merchant: Merchant, *, contact_email: str | None,
                   reply_to_email: str | None, actor: str, now: datetime) -> None:
    """Where operational notices go and where customers' replies go ('' clears either);
    MerchantInputError names each bad field, and nothing is changed then."""
    errors: dict[str, str] = {}
    contact = _address(contact_email, "contact_email", errors)
    reply_to = _address(reply_to_email, "reply_to_email", errors)
    if errors:
        raise MerchantInputError(errors)
    before = {"contact_email": merchant.contact_email, "reply_to_email": merchant.reply_to_email}
    merchant.contact_email, merchant.reply_to_email = contact, reply_to
    record_audit(session, action="merchant.update_contact", subject=merchant.public_id,
                 actor=actor, merchant_id=merchant.id, now=now,
                 data={"before": before,
                       "after": {"contact_email": contact, "reply_to_email": reply_to}})
