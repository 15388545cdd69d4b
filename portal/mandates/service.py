"""Inviting customers to sign and recording their account: the mandate rules outside the views."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, select
from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.db import cipher_of
from portal.events.service import emit_event
from portal.ids import looks_like, new_public_id
from portal.mandates.lifecycle import MandateAction, apply_transition
from portal.mandates.models import (
    Customer,
    Invitation,
    InvitationChannel,
    InvitationPurpose,
    Mandate,
    MandateStatus,
    Scheme,
    SequenceType,
    SigningMethod,
)
from portal.mandates.schedule import schedule_expiry
from portal.mandates.signing_methods import check_signing_methods
from portal.merchants.models import Merchant
from portal.sepa import BankAccount, generate_mandate_reference, mask_iban, validate_iban
from portal.shortlinks.service import create_short_link

DEFAULT_TTL = timedelta(days=14)
#: Associated data of the mandate IBAN's ciphertext.
IBAN_CONTEXT = "mandate.iban"

@dataclass(frozen=True)
class InvitationRequest:
    customer_name: str
    customer_email: str | None = None
    customer_phone: str | None = None
    locale: str | None = None
    external_reference: str | None = None
    scheme: Scheme = Scheme.CORE
    sequence_type: SequenceType = SequenceType.RECURRENT
    channel: InvitationChannel = InvitationChannel.NONE
    ttl: timedelta = DEFAULT_TTL
    #: How the debtor may sign (:mod:`portal.mandates.signing_methods` decides; the invitation
    #: keeps the result).
    signing_methods: tuple[SigningMethod, ...] = (SigningMethod.PAYMENT_VERIFICATION,)
    #: B2B only, optional: the most one collection may take, in cents.
    max_amount_cents: int | None = None
    #: What the mandate is for, as the debtor's bank shows it (≤ 70).
    reason: str | None = None
    #: Where the confirmation page sends the customer back to.
    return_url: str | None = None


def _unused_reference(session: Session, merchant: Merchant) -> str:
    """A fresh mandate reference; the (merchant, reference) unique constraint is the backstop."""
    while True:
        reference = generate_mandate_reference()
        taken = session.scalar(
            select(Mandate.id).where(Mandate.merchant_id == merchant.id,
                                     Mandate.reference == reference))
        if taken is None:
            return reference


def invite_customer(
    session: Session, merchant: Merchant, request: InvitationRequest, *, now: datetime,
    bank_available: bool = False, actor: str = "system", customer: Customer | None = None,
) -> Invitation:
    """Create the customer (unless an existing ``customer`` signs again, e.g. with a new
    account), a mandate in ``invited`` and the invitation that lets them sign it;
    SigningMethodError (nothing written) for a signing method that cannot sign the scheme here
    (B2B with the one-cent payment; the bank unless ``bank_available``: the app's adapters
    have a bank), SchemeNotOffered when none could (B2B without bank signing)."""
    check_signing_methods(request.scheme, request.signing_methods,
                          bank_available=bank_available)
    locale = request.locale or merchant.locale
    customer = customer or Customer(
        public_id=new_public_id("cus"), merchant_id=merchant.id, name=request.customer_name,
        email=request.customer_email, phone=request.customer_phone, locale=locale,
        external_reference=request.external_reference, created_at=now,
    )
    mandate = Mandate(
        public_id=new_public_id("md"), merchant_id=merchant.id, customer=customer,
        reference=_unused_reference(session, merchant), scheme=request.scheme,
        sequence_type=request.sequence_type, status=MandateStatus.INVITED, locale=locale,
        max_amount_cents=request.max_amount_cents if request.scheme == Scheme.B2B else None,
        reason=request.reason, created_at=now, updated_at=now,
    )
    invitation = Invitation(
        public_id=new_public_id("inv"), merchant_id=merchant.id, mandate=mandate,
        channel=request.channel, expires_at=now + request.ttl, created_at=now,
        signing_methods=[m.value for m in request.signing_methods],
        return_url=request.return_url,
    )
    session.add_all([customer, mandate, invitation])
    session.flush()
    create_short_link(session, invitation, now=now)
    schedule_expiry(session, invitation)
    record_audit(session, action="mandate.create", subject=mandate.public_id, actor=actor,
                 merchant_id=merchant.id, now=now,
                 data={"invitation": invitation.public_id, "reference": mandate.reference,
                       "scheme": mandate.scheme.value, "sequence_type": mandate.sequence_type.value,
                       "signing_methods": invitation.signing_methods})
    emit_event(session, merchant_id=merchant.id, type="mandate.created",
               subject=mandate.public_id, now=now,
               data={"mandate": mandate.public_id, "invitation": invitation.public_id,
                     "reference": mandate.reference, "status": mandate.status.value})
    return invitation


class MandateChangeRefused(ValueError):
    """This mandate cannot be changed at the bank (not active, not B2B for a cancellation)."""


def invite_bank_change(session: Session, mandate: Mandate, purpose: InvitationPurpose, *,
                       actor: str, now: datetime, ttl: timedelta = DEFAULT_TTL) -> Invitation:
    """A link for the debtor to move an active mandate to another account (amend) or, for B2B,
    to end it (cancel), both signed at their bank."""
    if purpose is InvitationPurpose.SIGN:
        raise ValueError("use invite_customer for new mandates")
    if mandate.status != MandateStatus.ACTIVE:
        raise MandateChangeRefused(f"the mandate is {mandate.status.value}, not active")
    if purpose is InvitationPurpose.CANCEL and mandate.scheme != Scheme.B2B:
        raise MandateChangeRefused("only B2B mandates are cancelled at the debtor's bank; "
                                   "revoke a Core mandate instead")
    invitation = Invitation(
        public_id=new_public_id("inv"), merchant_id=mandate.merchant_id, mandate=mandate,
        channel=InvitationChannel.NONE, expires_at=now + ttl, created_at=now,
        signing_methods=[SigningMethod.BANK_EMANDATE.value], purpose=purpose)
    session.add(invitation)
    session.flush()
    create_short_link(session, invitation, now=now)
    record_audit(session, action=f"mandate.{purpose.value}_requested", subject=mandate.public_id,
                 actor=actor, merchant_id=mandate.merchant_id, now=now,
                 data={"invitation": invitation.public_id})
    emit_event(session, merchant_id=mandate.merchant_id, type="invitation.created",
               subject=invitation.public_id, now=now,
               data={"invitation": invitation.public_id, "mandate": mandate.public_id,
                     "purpose": purpose.value})
    return invitation


def account_columns(session: Session, iban: str, bic: str | None, *,
                    account: BankAccount | None = None) -> dict[str, str | None]:
    """The mandate columns recording the debtor's account: encrypted IBAN, its lookup hash,
    masked form and BIC (``account``: the IBAN already validated, e.g. by a batch's check of
    the same row); for :func:`set_debtor_account` and the bulk import's rows alike."""
    account = account if account is not None and account.iban == iban else validate_iban(iban)
    cipher = cipher_of(session)
    return {"iban_ciphertext": cipher.encrypt(account.iban, IBAN_CONTEXT),
            "iban_hash": cipher.lookup_hash(account.iban),
            "iban_masked": mask_iban(account.iban), "bic": bic or account.bic}


def set_debtor_account(session: Session, mandate: Mandate, iban: str, bic: str | None, *,
                       account: BankAccount | None = None) -> None:
    """Record the debtor's account on the mandate (see :func:`account_columns`)."""
    for name, value in account_columns(session, iban, bic, account=account).items():
        setattr(mandate, name, value)


def debtor_iban(session: Session, mandate: Mandate) -> str | None:
    """The debtor's IBAN in clear, for documents and collections; never for logs."""
    if mandate.iban_ciphertext is None:
        return None
    return cipher_of(session).decrypt(mandate.iban_ciphertext, IBAN_CONTEXT)


def has_iban(session: Session, iban: str) -> ColumnElement[bool]:
    """Condition: the mandate's account is ``iban`` (valid, normalised), matched through its
    keyed hash under every configured data key, so a key rotation loses no search results."""
    return Mandate.iban_hash.in_(cipher_of(session).lookup_hashes(iban))


def find_mandates_by_iban(session: Session, merchant: Merchant, iban: str) -> list[Mandate]:
    """Exact IBAN search through the keyed hash."""
    return list(session.scalars(select(Mandate).where(
        Mandate.merchant_id == merchant.id, has_iban(session, validate_iban(iban).iban))))


def find_mandate(session: Session, merchant_id: int, public_id: str) -> Mandate | None:
    """The merchant's mandate with this id; another merchant's is None, like a missing one."""
    if not looks_like(public_id, "md"):
        return None
    return session.scalar(select(Mandate).where(Mandate.public_id == public_id,
                                                Mandate.merchant_id == merchant_id))


def find_invitation(session: Session, merchant_id: int, public_id: str) -> Invitation | None:
    """The merchant's invitation with this id; another merchant's is None, like a missing one."""
    if not looks_like(public_id, "inv"):
        return None
    return session.scalar(select(Invitation).where(Invitation.public_id == public_id,
                                                   Invitation.merchant_id == merchant_id))


def merchant_mandates(session: Session, merchant_id: int, *,
                      status: MandateStatus | None = None, scheme: Scheme | None = None,
                      external_reference: str | None = None,
                      iban: str | None = None) -> Select[Any]:
    """The merchant's mandates, optionally filtered (unordered; callers paginate). ``iban`` is
    a validated, normalised IBAN."""
    query = select(Mandate).where(Mandate.merchant_id == merchant_id)
    if iban is not None:
        query = query.where(has_iban(session, iban))
    if status is not None:
        query = query.where(Mandate.status == status)
    if scheme is not None:
        query = query.where(Mandate.scheme == scheme)
    if external_reference is not None:
        query = query.join(Customer).where(Customer.external_reference == external_reference)
    return query


def withdraw_invitation(session: Session, invitation: Invitation, *, actor: str,
                        now: datetime) -> None:
    """Withdraw the link and cancel its mandate through the state machine (IllegalTransition
    once the mandate is active or already closed)."""
    apply_transition(session, invitation.mandate, MandateAction.CANCEL, actor=actor, now=now,
                     data={"invitation": invitation.public_id, "reason": "invitation withdrawn"})
    invitation.withdrawn_at = now
    emit_event(session, merchant_id=invitation.merchant_id, type="invitation.withdrawn",
               subject=invitation.public_id, now=now,
               data={"invitation": invitation.public_id, "mandate": invitation.mandate.public_id})


def revoke_mandate(session: Session, mandate: Mandate, reason: str | None, *, actor: str,
                   now: datetime) -> None:
    """End an active mandate for the merchant (IllegalTransition from any other status)."""
    apply_transition(session, mandate, MandateAction.REVOKE, actor=actor, now=now,
                     data={"reason": reason} if reason else None)
