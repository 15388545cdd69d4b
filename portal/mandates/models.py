"""Customers (debtors), their mandates, and the invitations that ask them to sign."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    delete,
    event,
    insert,
    inspect,
)
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship
from sqlalchemy.types import TypeEngine

from portal.crypto import encrypted
from portal.db import Base, enum_column
from portal.mandates.search_keys import TERM_LENGTH, customer_term_rows, mandate_keys
from portal.merchants.models import Merchant


def search_key(length: int) -> TypeEngine[str]:
    """A search key's column type: compared in code-point order on both databases (SQLite's
    BINARY; on PostgreSQL the "C" collation whatever the database's locale), so that a prefix
    is exactly a range of its B-tree index (``portal/console/search.py``)."""
    return String(length).with_variant(String(length, collation="C"), "postgresql")


class Scheme(enum.StrEnum):
    CORE = "CORE"
    B2B = "B2B"


class SequenceType(enum.StrEnum):
    RECURRENT = "recurrent"
    ONE_OFF = "one_off"


class MandateStatus(enum.StrEnum):
    INVITED = "invited"
    AWAITING_VERIFICATION = "awaiting_verification"
    ACTIVE = "active"
    REVOKED = "revoked"
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    FAILED = "failed"


class SigningMethod(enum.StrEnum):
    #: Core: a one-cent payment through iDEAL/card proves the account.
    PAYMENT_VERIFICATION = "payment_verification"
    #: B2B: the debtor's bank accepts the mandate (pain.009 → pain.012).
    BANK_EMANDATE = "bank_emandate"


class Customer(Base):
    """A debtor as the merchant knows them."""

    __tablename__ = "customer"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    name: Mapped[str] = mapped_column(String(140))
    email: Mapped[str | None] = mapped_column(String(254))
    phone: Mapped[str | None] = mapped_column(String(32))
    locale: Mapped[str] = mapped_column(String(5))
    #: The merchant's own reference for this customer (ERP/CRM id).
    external_reference: Mapped[str | None] = mapped_column(String(100), index=True)
    created_at: Mapped[datetime]

    merchant: Mapped[Merchant] = relationship(back_populates="customers")


class Mandate(Base):
    """A SEPA mandate; its status changes only through :mod:`portal.mandates.lifecycle`."""

    __tablename__ = "mandate"
    __table_args__ = (UniqueConstraint("merchant_id", "reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    #: Unique mandate reference (UMR) per creditor, ≤ 35 SEPA characters.
    reference: Mapped[str] = mapped_column(String(35))
    #: The reference without separators, upper case: what search matches (search_keys.py).
    #: In code-point order on PostgreSQL too (:func:`search_key`): prefix ranges are exact.
    reference_key: Mapped[str | None] = mapped_column(search_key(35), index=True)
    scheme: Mapped[Scheme] = mapped_column(enum_column(Scheme))
    sequence_type: Mapped[SequenceType] = mapped_column(enum_column(SequenceType))
    status: Mapped[MandateStatus] = mapped_column(enum_column(MandateStatus), index=True)
    #: Debtor as signed: name and optional postal address.
    debtor_name: Mapped[str | None] = mapped_column(String(140))
    debtor_address_line: Mapped[str | None] = mapped_column(String(140))
    debtor_postal_code: Mapped[str | None] = mapped_column(String(16))
    debtor_city: Mapped[str | None] = mapped_column(String(70))
    debtor_country: Mapped[str | None] = mapped_column(String(2))
    #: IBAN encrypted at rest (:class:`portal.crypto.FieldCipher`), a keyed hash for exact
    #: search, and a masked form for display.
    iban_ciphertext: Mapped[str | None] = mapped_column(
        Text, info=encrypted("mandate.iban", lookup_hash="iban_hash"))
    iban_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    iban_masked: Mapped[str | None] = mapped_column(String(42))
    #: The account's last four characters (shown by the masked form too), for search.
    iban_last4: Mapped[str | None] = mapped_column(String(4), index=True)
    bic: Mapped[str | None] = mapped_column(String(11))
    signing_method: Mapped[SigningMethod | None] = mapped_column(enum_column(SigningMethod))
    signed_at: Mapped[datetime | None]
    #: B2B only, optional: the most one collection may take (cents), as registered at the bank.
    max_amount_cents: Mapped[int | None] = mapped_column(Integer)
    #: What the mandate is for, as the debtor's bank shows it (eMandates reason, ≤ 70).
    reason: Mapped[str | None] = mapped_column(String(70))
    #: Signed at the bank: who signed (for a company, the authorised person) and the bank's
    #: validation reference, which later collections may need to carry.
    signer_name: Mapped[str | None] = mapped_column(String(70))
    validation_reference: Mapped[str | None] = mapped_column(String(128))
    #: Language and version of the mandate text the customer was shown.
    locale: Mapped[str] = mapped_column(String(5))
    text_version: Mapped[str | None] = mapped_column(String(20))
    #: What a dispute needs about the signing: time, IP, user agent, language, consent.
    evidence: Mapped[dict | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime]
    #: Optimistic lock: a concurrent second change of the same row fails instead of winning.
    version: Mapped[int] = mapped_column(Integer, default=1)

    __mapper_args__: ClassVar[dict[str, Any]] = {"version_id_col": version}

    merchant: Mapped[Merchant] = relationship(back_populates="mandates")
    customer: Mapped[Customer] = relationship()
    invitations: Mapped[list[Invitation]] = relationship(back_populates="mandate")

    @property
    def bank_confirmed(self) -> bool:
        """Registered at the debtor's bank: signed there, and the bank's accepted pain.012
        gave the validation reference recorded on the mandate (``portal/emandates``)."""
        return (self.signing_method == SigningMethod.BANK_EMANDATE
                and bool(self.validation_reference))


#: Methods a scheme allows: the one-cent payment proves a Core account only; B2B is valid only
#: once the debtor's bank registered it.
SCHEME_METHODS: dict[Scheme, tuple[SigningMethod, ...]] = {
    Scheme.CORE: (SigningMethod.PAYMENT_VERIFICATION, SigningMethod.BANK_EMANDATE),
    Scheme.B2B: (SigningMethod.BANK_EMANDATE,),
}


class InvitationPurpose(enum.StrEnum):
    """What the link asks the debtor to do."""

    SIGN = "sign"
    #: Move an active mandate to another account, signed at the (new) bank (pain.010).
    AMEND = "amend"
    #: End an active B2B mandate at the debtor's bank (pain.011).
    CANCEL = "cancel"


class InvitationChannel(enum.StrEnum):
    EMAIL = "email"
    SMS = "sms"
    NONE = "none"


class DeliveryState(enum.StrEnum):
    """Where the message carrying an invitation stands (email or SMS)."""

    QUEUED = "queued"
    #: Handed over to the mail server or SMS gateway.
    SENT = "sent"
    #: Refused for good (unknown mailbox, bounce, invalid number) or given up after retries.
    FAILED = "failed"
    #: Not sent: the customer had signed before the message went out (the link reached them).
    NOT_SENT_SIGNED = "not_sent_signed"
    #: Not sent: withdrawn, expired or closed before the message went out.
    NOT_SENT_CLOSED = "not_sent_closed"


class Invitation(Base):
    """A link asking one customer to sign one mandate; usable once, until it expires."""

    __tablename__ = "invitation"

    id: Mapped[int] = mapped_column(primary_key=True)
    public_id: Mapped[str] = mapped_column(String(40), unique=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    mandate_id: Mapped[int] = mapped_column(ForeignKey("mandate.id"), index=True)
    channel: Mapped[InvitationChannel] = mapped_column(enum_column(InvitationChannel))
    expires_at: Mapped[datetime]
    #: When the customer first opened the link, when it was used to sign, or withdrawn.
    opened_at: Mapped[datetime | None]
    used_at: Mapped[datetime | None]
    withdrawn_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    #: The invitation message: queued, sent (when), failed (why), or not sent because it was no
    #: longer needed; None when not sent by us.
    delivery_status: Mapped[DeliveryState | None] = mapped_column(enum_column(DeliveryState))
    delivery_error: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime | None]
    #: The customer asked for no more reminders (List-Unsubscribe).
    unsubscribed_at: Mapped[datetime | None]
    #: How the debtor may sign (``SigningMethod`` values, in the order offered).
    signing_methods: Mapped[list[str]] = mapped_column(JSON, default=lambda: [
        SigningMethod.PAYMENT_VERIFICATION.value])
    purpose: Mapped[InvitationPurpose] = mapped_column(enum_column(InvitationPurpose),
                                                      default=InvitationPurpose.SIGN)
    #: Where the confirmation page sends the customer back to (the merchant's page).
    return_url: Mapped[str | None] = mapped_column(Text)

    mandate: Mapped[Mandate] = relationship(back_populates="invitations")
    merchant: Mapped[Merchant] = relationship()



class CustomerSearchTerm(Base):
    """One term a customer is found by (:mod:`portal.mandates.search_keys`): ``name`` (a folded
    word), ``email`` (the address from one of its parts on) or ``ext`` (the merchant's customer
    reference, compacted); matched by prefix through one B-tree index on both databases."""

    __tablename__ = "customer_search_term"
    __table_args__ = (
        #: Finding customers by a term (a range on ``term``), within merchants; it holds the
        #: customer too, so a search reads the index alone.
        Index("ix_customer_search_term_lookup", "kind", "term", "merchant_id", "customer_id"),
        #: A customer's own terms: rewriting them, and checking a name's other words.
        Index("ix_customer_search_term_customer", "customer_id", "kind", "term"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    kind: Mapped[str] = mapped_column(String(8))
    term: Mapped[str] = mapped_column(search_key(TERM_LENGTH))


# The search keys follow every write through the ORM, in the same flush as the row; bulk
# writers (the migration's backfill, the bench, the CSV import of mandates) call search_keys'
# row builders themselves.
_SEARCHED = ("name", "email", "external_reference", "merchant_id")


def _write_terms(connection: Connection, customer: Customer) -> None:
    connection.execute(delete(CustomerSearchTerm)
                       .where(CustomerSearchTerm.customer_id == customer.id))
    rows = customer_term_rows(customer.id, customer.merchant_id, customer.name, customer.email,
                              customer.external_reference)
    if rows:
        connection.execute(insert(CustomerSearchTerm), rows)


@event.listens_for(Customer, "after_insert")
def _customer_inserted(_mapper: Mapper, connection: Connection, customer: Customer) -> None:
    _write_terms(connection, customer)


@event.listens_for(Customer, "after_update")
def _customer_updated(_mapper: Mapper, connection: Connection, customer: Customer) -> None:
    state = inspect(customer)
    if any(state.attrs[name].history.has_changes() for name in _SEARCHED):
        _write_terms(connection, customer)


@event.listens_for(Mandate, "before_insert")
@event.listens_for(Mandate, "before_update")
def _mandate_keys(_mapper: Mapper, _connection: Connection, mandate: Mandate) -> None:
    for name, value in mandate_keys(mandate.reference, mandate.iban_masked).items():
        if getattr(mandate, name) != value:
            setattr(mandate, name, value)
