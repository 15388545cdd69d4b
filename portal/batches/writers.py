"""Writing checked rows: each kind through the service the API uses for the same object, and
imported mandates created active through the mandate state machine (audit and outbox event
per mandate), their IBAN encrypted and hashed like every other."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.api.rules import delivery_channel
from portal.batches.kinds import BatchContext, Checked
from portal.batches.models import BatchKind, CsvBatch, ImportedMandate
from portal.errors import Problem
from portal.ids import new_public_id
from portal.mandates.lifecycle import MandateAction, apply_transitions
from portal.mandates.models import Customer, InvitationChannel, Mandate, MandateStatus, Scheme
from portal.mandates.service import InvitationRequest, invite_customer, set_debtor_account


class RowRefused(Exception):
    """A service refused a row the check passed (state changed since): the import stops."""

    def __init__(self, line: int, column: str, value: str, reason: str) -> None:
        super().__init__(f"line {line}: {column}: {reason}")
        self.line, self.column, self.value, self.reason = line, column, value, reason


def write_rows(session: Session, batch: CsvBatch, rows: list[Checked], ctx: BatchContext) -> int:
    """One step of checked rows written; how many objects were created."""
    if batch.kind is BatchKind.MANDATES:
        write_mandates(session, batch, rows, ctx)
        return len(rows)
    writer = WRITERS[batch.kind]
    for checked in rows:
        writer(session, batch, checked, ctx)
    return len(rows)


def _customer_details(values: dict[str, Any]) -> Any:
    from portal.payments.service import CustomerDetails

    details = values["customer"]
    return CustomerDetails(name=details["name"], email=details.get("email"),
                           phone=details.get("phone"), locale=details.get("locale"))


def _existing_customer(session: Session, ctx: BatchContext, checked: Checked) -> Any:
    from portal.payments.service import find_customer

    customer = find_customer(session, ctx.merchant.id, checked.values["customer_id"])
    if customer is None:
        raise RowRefused(checked.line, "customer_id", checked.values["customer_id"],
                         "No customer with this id.")
    return customer


def _customer(session: Session, ctx: BatchContext, checked: Checked) -> Any:
    if "customer_id" in checked.values:
        return _existing_customer(session, ctx, checked)
    return _customer_details(checked.values)


def write_invitation(session: Session, batch: CsvBatch, checked: Checked,
                     ctx: BatchContext) -> None:
    from portal.mail.service import queue_invitation_email
    from portal.mandates.models import SequenceType
    from portal.sms.service import queue_invitation_sms

    values = checked.values
    customer = values["customer"]
    invitation = invite_customer(session, ctx.merchant, InvitationRequest(
        customer_name=customer["name"], customer_email=customer.get("email"),
        customer_phone=customer.get("phone"), locale=customer.get("locale"),
        external_reference=values.get("external_reference"), scheme=values["scheme"],
        signing_methods=values["signing_methods"],
        max_amount_cents=values.get("max_amount_cents"), reason=values.get("reason"),
        sequence_type=SequenceType(values.get("sequence_type", SequenceType.RECURRENT.value)),
        channel=values["channel"], ttl=values["ttl"], return_url=values.get("return_url")),
        actor=ctx.actor, now=ctx.now, bank_available=ctx.bank_available)
    if values["channel"] is InvitationChannel.EMAIL:
        queue_invitation_email(session, invitation)
    elif values["channel"] is InvitationChannel.SMS:
        queue_invitation_sms(session, invitation)


def write_payment_request(session: Session, batch: CsvBatch, checked: Checked,
                          ctx: BatchContext) -> None:
    from portal.payments.models import Collect
    from portal.payments.service import RequestSpec, create_payment_request

    values = checked.values
    customer = _customer(session, ctx, checked)
    if "customer_id" in values:  # the API's channel rule, on the customer now looked up
        try:
            delivery_channel(values["channel"], email=customer.email, phone=customer.phone,
                          sms_available=ctx.sms_available)
        except Problem as problem:
            raise RowRefused(checked.line, "send_via", values["channel"],
                             problem.errors[0]["message"]) from None
    create_payment_request(session, ctx.merchant, RequestSpec(
        amount_cents=values["amount"], description=values["description"],
        customer=customer, expires_at=values["expires_at"],
        invoice_number=values.get("invoice_number"),
        external_reference=values.get("external_reference"), due_date=values.get("due_date"),
        methods=tuple(values["methods"]) if values.get("methods") else None,
        allow_partial=values.get("allow_partial", False),
        offer_mandate=values.get("offer_mandate"), collect=Collect.AUTOMATIC,
        return_url=values.get("return_url"), channel=values["channel"]),
        actor=ctx.actor, now=ctx.now, settings=ctx.payment_settings)


def write_invoice(session: Session, batch: CsvBatch, checked: Checked, ctx: BatchContext) -> None:
    from portal.invoices.service import InvoiceError, InvoiceSpec, create_invoice
    from portal.mandates.service import find_mandate

    values = checked.values
    mandate = None
    if "mandate" in values:
        mandate = find_mandate(session, ctx.merchant.id, values["mandate"])
        if mandate is None:
            raise RowRefused(checked.line, "mandate", values["mandate"],
                             "No mandate with this id.")
    try:
        create_invoice(session, ctx.merchant, InvoiceSpec(
            customer=_customer(session, ctx, checked), description=values["description"],
            amount_cents=values.get("amount"), vat_rate=values.get("vat_rate"),
            number=values.get("number"), issue_date=values.get("issue_date"),
            due_date=values.get("due_date"), mandate=mandate,
            offer_mandate=values.get("offer_mandate"),
            external_reference=values.get("external_reference")),
            actor=ctx.actor, now=ctx.now, billing=ctx.billing)
    except InvoiceError as exc:
        column = {"amount": "amount", "vat_rate": "vat_rate"}.get(exc.field, exc.field)
        raise RowRefused(checked.line, column, str(values.get(exc.field, "")), str(exc)) from None


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def write_mandates(session: Session, batch: CsvBatch, rows: list[Checked],
                   ctx: BatchContext) -> None:
    """Active mandates signed elsewhere, a step at a time: each made as a new mandate, then
    all of them moved through the state machine together (per mandate its audit and outbox
    event; the audit chain advanced once)."""
    changes = [(_imported_mandate(session, batch, checked, ctx), {
        "batch": batch.public_id, "file_sha256": batch.sha256, "line": checked.line,
        "reference": checked.values["reference"], "next_sequence_type": "RCUR" if checked.values["collected_before"] else "FRST"})
        for checked in rows]
    apply_transitions(session, changes, MandateAction.IMPORT, actor=ctx.actor, now=ctx.now)


def _imported_mandate(session: Session, batch: CsvBatch, checked: Checked,
                      ctx: BatchContext) -> Mandate:
    """A new mandate (not yet active) whose evidence says it was imported (who, which file,
    when, which line) instead of how a customer signed here."""
    values = checked.values
    locale = values.get("locale") or ctx.merchant.locale
    customer = Customer(public_id=new_public_id("cus"), merchant_id=ctx.merchant.id,
                        name=values["debtor_name"], email=values.get("email"), phone=None,
                        locale=locale, external_reference=values.get("external_reference"),
                        created_at=ctx.now)
    next_sequence = "RCUR" if values["collected_before"] else "FRST"
    mandate = Mandate(
        public_id=new_public_id("md"), merchant_id=ctx.merchant.id, customer=customer,
        reference=values["reference"], scheme=values["scheme"],
        sequence_type=values["sequence_type"], status=MandateStatus.INVITED,
        debtor_name=values["debtor_name"],
        debtor_address_line=values.get("debtor_address_line"),
        debtor_postal_code=values.get("debtor_postal_code"),
        debtor_city=values.get("debtor_city"), debtor_country=values.get("debtor_country"),
        locale=locale, signed_at=_midnight(values["signed_on"]),
        max_amount_cents=values.get("max_amount_cents")
        if values["scheme"] is Scheme.B2B else None,
        reason=values.get("reason"), created_at=ctx.now, updated_at=ctx.now,
        evidence={"imported": True, "source": "csv", "batch": batch.public_id,
                  "file_sha256": batch.sha256, "line": checked.line,
                  "imported_by": ctx.actor, "imported_at": ctx.now.isoformat(),
                  "signature_date": values["signed_on"].isoformat(),
                  "collected_before": values["collected_before"],
                  "last_collection_date": values["last_collected_at"].date().isoformat()
                  if values["last_collected_at"] else None,
                  "next_sequence_type": next_sequence})
    set_debtor_account(session, mandate, values["iban"], values.get("bic"),
                       account=values["account"])
    session.add_all([customer, mandate])
    session.add(ImportedMandate(mandate=mandate, batch_id=batch.id, line=checked.line,
                                collected_before=values["collected_before"],
                                last_collected_at=values["last_collected_at"],
                                imported_at=ctx.now))
    return mandate


WRITERS = {
    BatchKind.INVITATIONS: write_invitation,
    BatchKind.PAYMENT_REQUESTS: write_payment_request,
    BatchKind.INVOICES: write_invoice,
}
