"""The customer's side of an invitation: checking the link, opening it, submitting the mandate."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.events.service import emit_event
from portal.ids import looks_like
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.mandates.links import LinkInvalid, read_invitation_token
from portal.mandates.models import Invitation, Mandate, MandateStatus
from portal.mandates.service import set_debtor_account
from portal.sepa import BankAccount


class LinkRefusal(enum.StrEnum):
    """Why a link cannot be used to sign, each with its own page and status code."""

    INVALID = "invalid"  # tampered, truncated or signed with an unknown key → 400
    UNKNOWN = "unknown"  # signature fine, invitation gone → 404
    EXPIRED = "expired"  # → 410
    WITHDRAWN = "withdrawn"  # → 410
    SIGNED = "signed"  # already used: shows the mandate reference → 410
    CLOSED = "closed"  # mandate cancelled, revoked, failed or expired → 410


class LinkRefused(Exception):
    def __init__(self, reason: LinkRefusal, invitation: Invitation | None = None) -> None:
        super().__init__(reason.value)
        self.reason = reason
        self.invitation = invitation


def load_invitation(session: Session, token: str, secret_key: str,
                    fallbacks: list[str]) -> Invitation:
    """The invitation a token names, whatever its state; LinkRefused if the token is bad."""
    try:
        public_id, _ = read_invitation_token(token, secret_key, fallbacks)
    except LinkInvalid:
        raise LinkRefused(LinkRefusal.INVALID) from None
    invitation = None
    if looks_like(public_id, "inv"):
        invitation = session.scalar(select(Invitation).where(Invitation.public_id == public_id))
    if invitation is None:
        raise LinkRefused(LinkRefusal.UNKNOWN)
    return invitation


def check_signable(invitation: Invitation, now: datetime) -> None:
    """Raise LinkRefused unless the customer may fill in the form now."""
    mandate = invitation.mandate
    if invitation.used_at is not None or mandate.status == MandateStatus.ACTIVE:
        raise LinkRefused(LinkRefusal.SIGNED, invitation)
    if invitation.withdrawn_at is not None:
        raise LinkRefused(LinkRefusal.WITHDRAWN, invitation)
    if mandate.status not in (MandateStatus.INVITED, MandateStatus.AWAITING_VERIFICATION):
        raise LinkRefused(LinkRefusal.CLOSED, invitation)
    if invitation.expires_at <= now:
        raise LinkRefused(LinkRefusal.EXPIRED, invitation)


def record_opened(session: Session, invitation: Invitation, now: datetime) -> None:
    """The first open of a link is an event for the merchant; later opens change nothing."""
    if invitation.opened_at is not None:
        return
    invitation.opened_at = now
    record_audit(session, action="invitation.open", subject=invitation.public_id,
                 actor="customer", merchant_id=invitation.merchant_id, now=now)
    emit_event(session, merchant_id=invitation.merchant_id, type="invitation.opened",
               subject=invitation.public_id, now=now,
               data={"invitation": invitation.public_id, "mandate": invitation.mandate.public_id})


@dataclass(frozen=True)
class Signature:
    """What the customer entered and the circumstances of their consent."""

    name: str
    email: str
    account: BankAccount
    ip: str | None
    user_agent: str | None
    locale: str
    text_version: str
    embedded: bool = False


def submit_signature(session: Session, invitation: Invitation, signature: Signature,
                     now: datetime) -> Mandate:
    """Record the debtor's details and consent; the mandate then awaits verification."""
    mandate = invitation.mandate
    mandate.debtor_name = signature.name
    mandate.customer.email = signature.email
    mandate.locale = signature.locale
    mandate.text_version = signature.text_version
    set_debtor_account(session, mandate, signature.account.iban, signature.account.bic)
    mandate.evidence = {
        "consent_at": now.isoformat(),
        "ip": signature.ip,
        "user_agent": (signature.user_agent or "")[:400],
        "locale": signature.locale,
        "text_version": signature.text_version,
        "typed_iban_masked": mandate.iban_masked,
        "embedded": signature.embedded,
    }
    apply_transition(session, mandate, MandateAction.SUBMIT, actor="customer", now=now,
                     data={"ip": signature.ip, "locale": signature.locale,
                           "text_version": signature.text_version,
                           "iban_masked": mandate.iban_masked, "iban_hash": mandate.iban_hash})
    return mandate
