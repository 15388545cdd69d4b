"""A merchant's own settings, as the console (and the API, later) changes them: branding,
embedding origins, mail and SMS senders, reminder schedules. Each function validates every field
first and raises :class:`MerchantInputError` naming each bad one (nothing changes then), and
audits the change with who made it."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.collections.routes import CollectionPolicy
from portal.mandates.schedule import ScheduleError, validate_schedule
from portal.merchants.contrast import (
    AA_NORMAL_TEXT,
    TEXT_ON_BRAND,
    contrast_ratio,
    nearest_passing_shade,
)
from portal.merchants.logo import LogoError, reencode_logo
from portal.merchants.models import Merchant
from portal.merchants.origins import frame_origin
from portal.merchants.service import COLOUR, LOCALES, MerchantInputError
from portal.names import InvalidName, clean_name
from portal.payments.reminders import ReminderScheduleError, validate_offsets

#: How many origins may frame a merchant's pages (each goes into every page's CSP header).
MAX_FRAME_ORIGINS = 20
#: What SMS gateways accept as an alphanumeric sender (MessageBird: at most 11 characters).
SMS_SENDER = re.compile(r"[A-Za-z0-9]{1,11}")


@dataclass(frozen=True)
class Branding:
    """Validated branding, saved or only previewed."""

    display_name: str
    primary_colour: str
    locale: str
    logo: bytes | None
    logo_mime: str | None


def colour_problem(colour: str) -> str | None:
    """Why white text on ``colour`` fails WCAG AA, with the nearest shade that passes; None."""
    ratio = contrast_ratio(colour, TEXT_ON_BRAND)
    if ratio >= AA_NORMAL_TEXT:
        return None
    return (f"white text on {colour} has a contrast of {ratio:.2f}:1, below the "
            f"{AA_NORMAL_TEXT}:1 WCAG AA asks for; the nearest shade that passes is "
            f"{nearest_passing_shade(colour)}")


def validate_branding(merchant: Merchant, *, display_name: str, primary_colour: str,
                      locale: str, logo_upload: bytes | None = None,
                      remove_logo: bool = False) -> Branding:
    """The branding these fields give the merchant (the logo re-encoded, or kept, or removed);
    MerchantInputError names every bad field."""
    errors: dict[str, str] = {}
    name = ""
    try:
        name = clean_name(display_name or "", max_length=70)
    except InvalidName as exc:
        errors["display_name"] = str(exc)
    colour = (primary_colour or "").strip().lower()
    if not COLOUR.fullmatch(colour):
        errors["primary_colour"] = "must be a colour like #1f4b99"
    elif problem := colour_problem(colour):
        errors["primary_colour"] = problem
    if locale not in LOCALES:
        errors["locale"] = f"must be one of {', '.join(LOCALES)}"
    logo, logo_mime = (None, None) if remove_logo else (merchant.logo, merchant.logo_mime)
    if logo_upload:
        try:
            logo, logo_mime = reencode_logo(logo_upload)
        except LogoError as exc:
            errors["logo"] = str(exc)
    if errors:
        raise MerchantInputError(errors)
    return Branding(name, colour, locale, logo, logo_mime)


def update_branding(session: Session, merchant: Merchant, branding: Branding, *, actor: str,
                    now: datetime) -> None:
    """Store branding from :func:`validate_branding`, audited (the logo by its SHA-256)."""
    def state(name: str, colour: str, locale: str, logo: bytes | None) -> dict[str, Any]:
        return {"display_name": name, "primary_colour": colour, "locale": locale,
                "logo_sha256": hashlib.sha256(logo).hexdigest() if logo else None}
    before = state(merchant.display_name, merchant.primary_colour, merchant.locale, merchant.logo)
    merchant.display_name, merchant.primary_colour = branding.display_name, branding.primary_colour
    merchant.locale = branding.locale
    merchant.logo, merchant.logo_mime = branding.logo, branding.logo_mime
    after = state(branding.display_name, branding.primary_colour, branding.locale, branding.logo)
    _audit(session, merchant, "merchant.update_branding", actor, now, before, after)


def parse_frame_origins(lines: str) -> list[str]:
    """One origin per line (blank lines skipped), each checked; MerchantInputError otherwise."""
    found, problems = [], []
    for line in (lines or "").splitlines():
        if not line.strip():
            continue
        try:
            found.append(frame_origin(line))
        except ValueError as exc:
            problems.append(str(exc))
    if problems:
        raise MerchantInputError({"frame_origins": "; ".join(problems[:3])})
    origins = sorted(set(found))
    if len(origins) > MAX_FRAME_ORIGINS:
        raise MerchantInputError({"frame_origins": f"at most {MAX_FRAME_ORIGINS} origins"})
    return origins


def update_frame_origins(session: Session, merchant: Merchant, origins: list[str], *,
                         actor: str, now: datetime) -> None:
    """Replace the origins that may frame the signing and checkout pages (from
    :func:`parse_frame_origins`); the next page answers with them in ``frame-ancestors``."""
    before = list(merchant.frame_origins or [])
    merchant.frame_origins = list(origins)
    _audit(session, merchant, "merchant.update_frame_origins", actor, now,
           {"frame_origins": before}, {"frame_origins": list(origins)})


def update_senders(session: Session, merchant: Merchant, *, mail_from_name: str,
                   reply_to_email: str, sms_sender_id: str, actor: str, now: datetime) -> None:
    """The name customer mail is sent under, where replies go and the SMS sender id ('' each:
    the default); MerchantInputError names every bad field."""
    errors: dict[str, str] = {}
    from_name: str | None = None
    if (mail_from_name or "").strip():
        try:
            from_name = clean_name(mail_from_name, max_length=70)
        except InvalidName as exc:
            errors["mail_from_name"] = str(exc)
    reply_to: str | None = None
    if (reply_to_email or "").strip():
        try:
            reply_to = validate_email(reply_to_email.strip(),
                                      check_deliverability=False).normalized
        except EmailNotValidError as exc:
            errors["reply_to_email"] = str(exc)
    sender = (sms_sender_id or "").strip() or None
    if sender is not None and not (SMS_SENDER.fullmatch(sender)
                                   and any(c.isalpha() for c in sender)):
        errors["sms_sender_id"] = ("must be 1 to 11 letters (A–Z) and digits, at least one "
                                   "letter, no spaces")
    if errors:
        raise MerchantInputError(errors)
    fields = ("mail_from_name", "reply_to_email", "sms_sender_id")
    before = {name: getattr(merchant, name) for name in fields}
    merchant.mail_from_name, merchant.reply_to_email = from_name, reply_to
    merchant.sms_sender_id = sender
    _audit(session, merchant, "merchant.update_senders", actor, now, before,
           {name: getattr(merchant, name) for name in fields})


def parse_days(text: str, field: str) -> list[int] | None:
    """``3, 7`` → [3, 7]; ``none`` → [] (no reminders); blank or ``default`` → None (the
    portal's); MerchantInputError for anything else."""
    value = (text or "").strip().lower()
    if value in ("", "default"):
        return None
    if value == "none":
        return []
    try:
        return [int(part) for part in value.replace(";", ",").split(",") if part.strip()]
    except ValueError:
        raise MerchantInputError(
            {field: "whole numbers of days separated by commas, 'none' or 'default'"}) from None


def update_reminder_schedules(session: Session, merchant: Merchant, *,
                              invitation_days: list[int] | None,
                              payment_days: list[int] | None, actor: str,
                              now: datetime) -> None:
    """When unsigned invitations and open payment requests are reminded (None: the portal's
    schedule, []: never); MerchantInputError names every bad field."""
    errors: dict[str, str] = {}
    invitation = payment = None
    try:
        invitation = None if invitation_days is None else validate_schedule(invitation_days)
    except ScheduleError as exc:
        errors["reminder_days"] = str(exc)
    try:
        payment = None if payment_days is None else validate_offsets(payment_days)
    except ReminderScheduleError as exc:
        errors["payment_reminder_days"] = str(exc)
    if errors:
        raise MerchantInputError(errors)
    before = {"reminder_days": merchant.reminder_days,
              "payment_reminder_days": merchant.payment_reminder_days}
    merchant.reminder_days, merchant.payment_reminder_days = invitation, payment
    _audit(session, merchant, "merchant.update_reminders", actor, now, before,
           {"reminder_days": invitation, "payment_reminder_days": payment})


def _audit(session: Session, merchant: Merchant, action: str, actor: str, now: datetime,
           before: dict[str, Any], after: dict[str, Any]) -> None:
    record_audit(session, action=action, subject=merchant.public_id, actor=actor,
                 merchant_id=merchant.id, now=now, data={"before": before, "after": after})


def update_schedules(session: Session, merchant: Merchant, *, reminder_days: str,
                     payment_reminder_days: str, retry_delays: str, route: str,
                     policy: CollectionPolicy, actor: str, now: datetime) -> None:
    """The reminder schedules (text as :func:`parse_days` reads it), the debit retry delays
    (``5, 10``) and the collection route; MerchantInputError names every bad field, and the
    caller rolls the session back then. A merchant's first collection settings take the rest
    from the portal's ``policy`` (what it collected with until now), not from fixed values."""
    from portal.collections.models import CollectionSettings
    from portal.collections.service import SettingsError, configure_collections

    errors: dict[str, str] = {}
    parsed: dict[str, list[int] | None] = {}
    for field, text in (("reminder_days", reminder_days),
                        ("payment_reminder_days", payment_reminder_days),
                        ("retry_delays", retry_delays)):
        try:
            parsed[field] = parse_days(text, field)
        except MerchantInputError as exc:
            errors.update(exc.errors)
    if "retry_delays" in parsed and parsed["retry_delays"] is None:
        errors["retry_delays"] = "give the days before the 2nd and the 3rd attempt, e.g. 5, 10"
    # Judged field by field even after a refusal, so that every bad field is named at once.
    try:
        update_reminder_schedules(session, merchant,
                                  invitation_days=parsed.get("reminder_days"),
                                  payment_days=parsed.get("payment_reminder_days"), actor=actor,
                                  now=now)
    except MerchantInputError as exc:
        errors.update(exc.errors)
    unchanged: dict[str, object] = {}
    if session.scalar(select(CollectionSettings.id).where(
            CollectionSettings.merchant_id == merchant.id)) is None:
        unchanged = {"pain_version": policy.pain_version, "lead_days": policy.lead_days,
                     "prenotification_days": policy.prenotification_days}
    try:
        configure_collections(session, merchant.id, actor=actor, now=now,
                              route=(route or "").strip(),
                              retry_delays_days=parsed.get("retry_delays"), **unchanged)
    except SettingsError as exc:
        errors.update({"retry_delays" if name == "retry_delays_days" else name: message
                       for name, message in exc.errors.items()})
    if errors:  # the caller rolls back what was set before the refusal
        raise MerchantInputError(errors)
