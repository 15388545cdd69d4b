"""Imported mandates written in bulk, a step of rows at a time: the customers, the mandates
(active through the transition table's IMPORT, their IBAN encrypted with its keyed hash), their
history, the search keys the model listeners would have written, and per mandate the audit
and outbox event, each table in one multi-row INSERT (``insertmanyvalues``) inside the import's
one transaction.

Row by row through the ORM this cost 14 ms a row on SQLite and 35 on PostgreSQL; a bulk
INSERT skips the unit of work, so the listeners do not run and their keys are written here
from the same functions (:mod:`portal.mandates.search_keys`)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from portal.batches.kinds import BatchContext, Checked
from portal.batches.models import CsvBatch, ImportedMandate
from portal.db import insert_rows, table_of
from portal.ids import new_public_id
from portal.mandates.lifecycle import MandateAction, Moved, announce_transitions, target_of
from portal.mandates.models import Customer, CustomerSearchTerm, Mandate, MandateStatus, Scheme
from portal.mandates.search_keys import customer_term_rows, mandate_keys
from portal.mandates.service import account_columns

#: The status an imported mandate is created in, before the transition table moves it.
CREATED = MandateStatus.INVITED


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def _next_sequence(values: dict[str, Any]) -> str:
    return "RCUR" if values["collected_before"] else "FRST"


def write_mandates(session: Session, batch: CsvBatch, rows: list[Checked],
                   ctx: BatchContext) -> None:
    """Active mandates signed elsewhere, one step of checked rows: each a new customer and
    mandate whose evidence says it was imported (who, which file, when, which line)."""
    if not rows:
        return
    target = target_of(CREATED, MandateAction.IMPORT)
    customers = [_customer_row(checked.values, ctx) for checked in rows]
    customer_ids = insert_rows(session, table_of(Customer), customers)
    terms = [term for customer in customers for term in customer_term_rows(
        customer_ids[customer["public_id"]], customer["merchant_id"], customer["name"],
        customer["email"], customer["external_reference"])]
    if terms:
        session.execute(insert(table_of(CustomerSearchTerm)), terms)
    mandates = [_mandate_row(session, batch, checked, ctx, target,
                             customer_ids[customer["public_id"]])
                for checked, customer in zip(rows, customers, strict=True)]
    mandate_ids = insert_rows(session, table_of(Mandate), mandates)
    values = [checked.values for checked in rows]
    session.execute(insert(table_of(ImportedMandate)), [
        {"mandate_id": mandate_ids[mandate["public_id"]], "batch_id": batch.id,
         "line": checked.line, "collected_before": value["collected_before"],
         "last_collected_at": value["last_collected_at"], "imported_at": ctx.now}
        for mandate, checked, value in zip(mandates, rows, values, strict=True)])
    announce_transitions(session, [
        Moved(public_id=mandate["public_id"], merchant_id=ctx.merchant.id, previous=CREATED,
              target=target, data={"batch": batch.public_id, "file_sha256": batch.sha256,
                                   "line": checked.line, "reference": mandate["reference"],
                                   "next_sequence_type": _next_sequence(value)})
        for mandate, checked, value in zip(mandates, rows, values, strict=True)],
        MandateAction.IMPORT, actor=ctx.actor, now=ctx.now)


def _customer_row(values: dict[str, Any], ctx: BatchContext) -> dict[str, Any]:
    return {"public_id": new_public_id("cus"), "merchant_id": ctx.merchant.id,
            "name": values["debtor_name"], "email": values.get("email"), "phone": None,
            "locale": values.get("locale") or ctx.merchant.locale,
            "external_reference": values.get("external_reference"), "created_at": ctx.now}


def _mandate_row(session: Session, batch: CsvBatch, checked: Checked, ctx: BatchContext,
                 target: MandateStatus, customer_id: int) -> dict[str, Any]:
    values = checked.values
    account = account_columns(session, values["iban"], values.get("bic"),
                              account=values["account"])
    last = values["last_collected_at"]
    return {
        "public_id": new_public_id("md"), "merchant_id": ctx.merchant.id,
        "customer_id": customer_id, "reference": values["reference"],
        "scheme": values["scheme"], "sequence_type": values["sequence_type"], "status": target,
        "debtor_name": values["debtor_name"],
        "debtor_address_line": values.get("debtor_address_line"),
        "debtor_postal_code": values.get("debtor_postal_code"),
        "debtor_city": values.get("debtor_city"), "debtor_country": values.get("debtor_country"),
        **account, **mandate_keys(values["reference"], account["iban_masked"]),
        "signing_method": None, "signed_at": _midnight(values["signed_on"]),
        "max_amount_cents": values.get("max_amount_cents")
        if values["scheme"] is Scheme.B2B else None,
        "reason": values.get("reason"), "signer_name": None, "validation_reference": None,
        "locale": values.get("locale") or ctx.merchant.locale, "text_version": None,
        "evidence": {"imported": True, "source": "csv", "batch": batch.public_id,
                     "file_sha256": batch.sha256, "line": checked.line,
                     "imported_by": ctx.actor, "imported_at": ctx.now.isoformat(),
                     "signature_date": values["signed_on"].isoformat(),
                     "collected_before": values["collected_before"],
                     "last_collection_date": last.date().isoformat() if last else None,
                     "next_sequence_type": _next_sequence(values)},
        "created_at": ctx.now, "updated_at": ctx.now, "version": 1,
    }
