"""The search keys kept beside customers and mandates, written in the same flush as the row.

A customer's name words, email parts and the merchant's reference for it are terms in
``customer_search_term``, matched by prefix through one index on both databases (a B-tree range,
no trigram or full-text extension needed); a mandate carries its compact reference and the last
four characters of its account. Listeners keep them in step with every write through the ORM;
bulk writers (the migration's backfill, the bench) use :func:`customer_term_rows` and
:func:`mandate_keys` directly."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ForeignKey, Index, String, delete, event, insert, inspect
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, Mapper, mapped_column

from portal.db import Base
from portal.mandates.models import Customer, Mandate
from portal.mandates.search_keys import TERM_LENGTH, customer_terms, iban_last4, reference_key


class CustomerSearchTerm(Base):
    """One term a customer is found by: ``name`` (a folded word), ``email`` (the address from
    one of its parts on) or ``ext`` (the merchant's customer reference, compacted)."""

    __tablename__ = "customer_search_term"
    __table_args__ = (Index("ix_customer_search_term_lookup", "kind", "term", "merchant_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customer.id"), index=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    kind: Mapped[str] = mapped_column(String(8))
    term: Mapped[str] = mapped_column(String(TERM_LENGTH))


def customer_term_rows(customer_id: int, merchant_id: int, name: str | None,
                       email: str | None, external_reference: str | None) -> list[dict[str, Any]]:
    return [{"customer_id": customer_id, "merchant_id": merchant_id, "kind": kind, "term": term}
            for kind, term in customer_terms(name, email, external_reference)]


def mandate_keys(reference: str | None, iban_masked: str | None) -> dict[str, str | None]:
    return {"reference_key": reference_key(reference) if reference else None,
            "iban_last4": iban_last4(iban_masked)}


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
    keys = mandate_keys(mandate.reference, mandate.iban_masked)
    if mandate.reference_key != keys["reference_key"]:
        mandate.reference_key = keys["reference_key"]
    if mandate.iban_last4 != keys["iban_last4"]:
        mandate.iban_last4 = keys["iban_last4"]
