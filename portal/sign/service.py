"""The customer's side of an invitation: checking the link, opening it, submitting the mandate."""

from __future__ import annotations

import enum
import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, Select, bindparam, select
from sqlalchemy.orm import Session, joinedload

from portal.audit.service import record_audit
from portal.banks.base import Directory
from portal.db import RowRead
from portal.events.service import emit_event
from portal.ids import looks_like
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.mandates.links import LinkInvalid, read_invitation_token
from portal.mandates.models import (
    SCHEME_METHODS,
    Customer,
    Invitation,
    InvitationPurpose,
    Mandate,
    MandateStatus,
    SigningMethod,
)
from portal.mandates.service import set_debtor_account
from portal.merchants.models import Merchant
from portal.sepa import BankAccount
from portal.sign.methods import Attempt, AttemptState, SigningFlow, latest_attempt


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


@functools.cache
def _invitation_by_id() -> Select[Invitation]:
    """The invitation with what every signing page shows of it (mandate, customer, merchant),
    in one statement rather than one per relationship; built once, on first use (its loader
    options need every mapper configured)."""
    return (select(Invitation)
            .options(joinedload(Invitation.mandate).joinedload(Mandate.customer),
                     joinedload(Invitation.merchant))
            .where(Invitation.public_id == bindparam("public_id")))


def load_invitation(session: Session, token: str, secret_key: str,
                    fallbacks: list[str]) -> Invitation:
    """The invitation a token names, whatever its state; LinkRefused if the token is bad."""
    try:
        public_id, _ = read_invitation_token(token, secret_key, fallbacks)
    except LinkInvalid:
        raise LinkRefused(LinkRefusal.INVALID) from None
    invitation = None
    if looks_like(public_id, "inv"):
        invitation = session.scalar(_invitation_by_id(), {"public_id": public_id})
    if invitation is None:
        raise LinkRefused(LinkRefusal.UNKNOWN)
    return invitation


def refusal(used_at: datetime | None, withdrawn_at: datetime | None, expires_at: datetime,
            status: MandateStatus, now: datetime,
            purpose: InvitationPurpose = InvitationPurpose.SIGN) -> LinkRefusal | None:
    """Why an invitation in this state cannot be used now, or None if it can. A link to sign
    works until the mandate is signed; a link to amend or cancel one, while it is active."""
    if used_at is not None or (purpose is InvitationPurpose.SIGN
                               and status == MandateStatus.ACTIVE):
        return LinkRefusal.SIGNED
    if withdrawn_at is not None:
        return LinkRefusal.WITHDRAWN
    if status == MandateStatus.EXPIRED:
        return LinkRefusal.EXPIRED
    usable = ((MandateStatus.INVITED, MandateStatus.AWAITING_VERIFICATION)
              if purpose is InvitationPurpose.SIGN else (MandateStatus.ACTIVE,))
    if status not in usable:
        return LinkRefusal.CLOSED
    if expires_at <= now:
        return LinkRefusal.EXPIRED
    return None


def pdf_offered(mandate: Mandate, now: datetime, days: int) -> bool:
    """Whether the signing link still offers the sealed PDF: for ``days`` after signing (the
    link's retention, ``SIGNED_LINK_PDF_DAYS``). The copy mailed to the customer stays theirs."""
    return mandate.signed_at is not None and now < mandate.signed_at + timedelta(days=days)


def check_signable(invitation: Invitation, now: datetime) -> None:
    """Raise LinkRefused unless the customer may fill in the form now (a link none of whose
    methods can sign its mandate's scheme, such as an older B2B link offering only the one-cent
    payment, is closed)."""
    reason = refusal(invitation.used_at, invitation.withdrawn_at, invitation.expires_at,
                     invitation.mandate.status, now, invitation.purpose)
    allowed = SCHEME_METHODS[invitation.mandate.scheme]
    if reason is None and not any(SigningMethod(m) in allowed
                                  for m in invitation.signing_methods or ()):
        reason = LinkRefusal.CLOSED
    if reason is not None:
        raise LinkRefused(reason, invitation)


@dataclass(frozen=True)
class OpenLink:
    """What a repeat visit needs to know about a signable link, from one small query."""

    mandate_version: int
    locale_hint: str
    #: The merchant refunds the verification cent (the page says so): part of the page's key.
    refund_verification: bool = False


_LINK_STATE = RowRead(
    select(Invitation.used_at, Invitation.withdrawn_at, Invitation.expires_at,
           Invitation.opened_at, Invitation.purpose, Mandate.status, Mandate.version,
           Customer.locale, Merchant.refund_verification)
    .join(Mandate, Mandate.id == Invitation.mandate_id)
    .join(Customer, Customer.id == Mandate.customer_id)
    .join(Merchant, Merchant.id == Invitation.merchant_id)
    .where(Invitation.public_id == bindparam("public_id")))


def open_link(engine: Engine, public_id: str, now: datetime) -> OpenLink | None:
    """The state of an already-opened, signable invitation; None for anything else (the full
    path handles first opens and refusals). One statement, on ``DatabaseState.reads`` (in
    autocommit: no BEGIN and ROLLBACK round trips on this hot path)."""
    row = _LINK_STATE.first(engine, public_id=public_id)
    if row is None or row.opened_at is None or refusal(
            row.used_at, row.withdrawn_at, row.expires_at, row.status, now,
            row.purpose) is not None:
        return None
    return OpenLink(row.version, row.locale, bool(row.refund_verification))


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
    account: BankAccount | None
    ip: str | None
    user_agent: str | None
    locale: str
    text_version: str
    embedded: bool = False


def submit_signature(session: Session, invitation: Invitation, signature: Signature,
                     now: datetime) -> Mandate:
    """Record the debtor's details and consent; the mandate then awaits verification. For
    bank signing the IBAN is optional: the bank reports the account."""
    mandate = invitation.mandate
    mandate.debtor_name = signature.name
    mandate.customer.email = signature.email
    mandate.locale = signature.locale
    mandate.text_version = signature.text_version
    if signature.account is not None:
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


def record_change_consent(session: Session, invitation: Invitation, signature: Signature,
                          now: datetime) -> None:
    """The debtor asked, on our page, to amend or cancel their mandate at their bank."""
    record_audit(session, action=f"mandate.{invitation.purpose.value}_consent",
                 subject=invitation.mandate.public_id, actor="customer",
                 merchant_id=invitation.merchant_id, now=now,
                 data={"invitation": invitation.public_id, "ip": signature.ip,
                       "user_agent": (signature.user_agent or "")[:400],
                       "locale": signature.locale, "text_version": signature.text_version})


def offered_methods(invitation: Invitation, bank_available: bool) -> tuple[SigningMethod, ...]:
    """The invitation's methods this portal can offer now (bank signing needs a bank)."""
    return tuple(m for m in (SigningMethod(v) for v in invitation.signing_methods)
                 if bank_available or m is not SigningMethod.BANK_EMANDATE)


def start_signing(session: Session, invitation: Invitation, signature: Signature,
                  flow: SigningFlow, debtor_bic: str | None, *, return_url: str,
                  now: datetime) -> str:
    """Record the debtor's consent, then start the chosen method; where to send the debtor.
    Raises MethodUnavailable (nothing kept for the one-cent payment; the consent kept for the
    bank, whose refusal is recorded)."""
    if invitation.purpose is InvitationPurpose.SIGN:
        submit_signature(session, invitation, signature, now)
    else:
        record_change_consent(session, invitation, signature, now)
    return flow.start(session, invitation, debtor_bic, return_url=return_url, now=now)


@dataclass(frozen=True)
class SigningPage:
    """What the form needs: the methods on offer, the banks to choose from, the last try
    (looked up when first asked for: a valid submit never needs it)."""

    methods: tuple[SigningMethod, ...]
    directory: Directory | None
    #: The bank signing that was asked for but cannot be offered right now.
    bank_unavailable: bool
    _latest: Callable[[], Attempt | None]

    @functools.cached_property
    def attempt(self) -> Attempt | None:
        return self._latest()

    @property
    def waiting(self) -> bool:
        """The provider or bank is still confirming the last try: show the waiting page."""
        return self.attempt is not None and self.attempt.state is AttemptState.PENDING


def signing_page(session: Session, invitation: Invitation,
                 flows: Mapping[SigningMethod, SigningFlow],
                 directory: Callable[[], Directory | None]) -> SigningPage:
    """The state of the signing form for this invitation (``directory`` is asked only when the
    invitation offers bank signing; it returns None when the bank list is unavailable)."""
    wanted = offered_methods(invitation, SigningMethod.BANK_EMANDATE in flows)
    banks = directory() if SigningMethod.BANK_EMANDATE in wanted else None
    methods = tuple(m for m in wanted if m is not SigningMethod.BANK_EMANDATE or banks)

    def latest() -> Attempt | None:
        found = latest_attempt(session, invitation.mandate, dict(flows))
        return found[1] if found else None

    return SigningPage(
        methods=methods, directory=banks, _latest=latest,
        bank_unavailable=SigningMethod.BANK_EMANDATE in invitation.signing_methods
        and SigningMethod.BANK_EMANDATE not in methods)
