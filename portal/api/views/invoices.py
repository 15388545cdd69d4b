"""Invoices: create one (with its one collection), list, read, enter a payment made elsewhere,
void."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from flask import Response, current_app, g
from sqlalchemy.orm import Session, selectinload

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.billing_common import (
    customer_of,
    field_problem,
    invalid_state,
    no_such,
    subscription_ids,
)
from portal.api.billing_inputs import (
    INVOICE_FIELDS,
    INVOICE_LIST_PARAMS,
    INVOICE_PAYMENT_FIELDS,
    VOID_FIELDS,
)
from portal.api.billing_serializers import invoice_json
from portal.api.blueprint import bp, json_response, not_found
from portal.api.idempotency import write_endpoint
from portal.api.pagination import DEFAULT_LIMIT, anchor, filter_id, paginate
from portal.api.serializers import list_json
from portal.api.validation import read_query, validate_body
from portal.db import get_session
from portal.errors import Problem
from portal.invoices.amounts import AmountError, line
from portal.invoices.context import billing_of
from portal.invoices.lifecycle import InvalidInvoiceTransition
from portal.invoices.models import Invoice, InvoiceStatus
from portal.invoices.service import (
    InvoiceClosed,
    InvoiceError,
    InvoiceSpec,
    create_invoice,
    find_invoice,
    merchant_invoices,
    record_invoice_payment,
    void_invoice,
)
from portal.mandates.service import find_mandate
from portal.merchants.models import Merchant
from portal.payments.service import find_customer
from portal.subscriptions.service import find_subscription


def _json(invoice: Invoice) -> dict[str, Any]:
    names = subscription_ids(get_session(), {invoice.subscription_id} - {None})
    return invoice_json(invoice, names.get(invoice.subscription_id or 0))


def _invoice(invoice_id: str) -> Invoice:
    invoice = find_invoice(get_session(), merchant_id(), invoice_id)
    if invoice is None:
        raise not_found("invoice")
    return invoice


def _lines(data: dict[str, Any]) -> tuple[Any, ...]:
    lines = []
    for position, item in enumerate(data.get("lines") or ()):
        try:
            lines.append(line(item["description"], item.get("quantity", 1),
                              item["unit_amount"], item["vat_rate"]))
        except AmountError as exc:
            raise field_problem(f"lines[{position}].vat_rate", str(exc)) from None
    return tuple(lines)


def invoice_from_body(session: Session, merchant: Merchant, data: dict[str, Any], *,
                      actor: str, now: datetime) -> Invoice:
    """The invoice a validated ``INVOICE_FIELDS`` body asks for; a 422 :class:`Problem` naming
    the field at fault. The API and the console both create them so."""
    customer = customer_of(session, merchant.id, data)
    mandate = None
    if "mandate" in data:
        mandate = find_mandate(session, merchant.id, data["mandate"])
        if mandate is None:
            raise no_such("mandate", "mandate")
    try:
        return create_invoice(session, merchant, InvoiceSpec(
            customer=customer, description=data["description"], lines=_lines(data),
            amount_cents=data.get("amount"), vat_rate=data.get("vat_rate"),
            number=data.get("number"), issue_date=data.get("issue_date"),
            due_date=data.get("due_date"), mandate=mandate,
            methods=tuple(data["methods"]) if data.get("methods") else None,
            offer_mandate=data.get("offer_mandate"),
            external_reference=data.get("external_reference")),
            actor=actor, now=now, billing=billing_of(current_app))
    except InvoiceError as exc:
        raise field_problem(exc.field, str(exc)) from None


@bp.post("/invoices")
@require_scope("billing:write")
@write_endpoint
def create_invoice_view(body: Any) -> Response:
    data = validate_body(INVOICE_FIELDS, body)
    session = get_session()
    invoice = invoice_from_body(session, session.get(Merchant, merchant_id()), data,
                                actor=g.api_actor, now=get_adapters().clock())
    return json_response(_json(invoice), 201)  # Location: the one place for every 201


@bp.get("/invoices")
@require_scope("billing:read")
def list_invoices() -> Response:
    params = read_query(INVOICE_LIST_PARAMS)
    session = get_session()
    query = merchant_invoices(
        merchant_id(), status=InvoiceStatus(params["status"]) if "status" in params else None,
        customer_id=filter_id(session, merchant_id(), params, "customer_id", find_customer),
        number=params.get("number"),
        subscription_id=filter_id(session, merchant_id(), params, "subscription",
                                  find_subscription),
        external_reference=params.get("external_reference"),
    ).options(selectinload(Invoice.customer), selectinload(Invoice.lines),
              selectinload(Invoice.payments), selectinload(Invoice.debit),
              selectinload(Invoice.payment_request), selectinload(Invoice.mandate))
    page = paginate(session, query, Invoice, merchant_id(), anchor(params),
                    params.get("limit", DEFAULT_LIMIT), newest_first=True)
    names = subscription_ids(session, {i.subscription_id for i in page.items} - {None})
    return json_response(list_json(
        [invoice_json(i, names.get(i.subscription_id or 0)) for i in page.items],
        page.has_more, page.next_cursor))


@bp.get("/invoices/<invoice_id>")
@require_scope("billing:read")
def get_invoice(invoice_id: str) -> Response:
    return json_response(_json(_invoice(invoice_id)))


@bp.post("/invoices/<invoice_id>/payments")
@require_scope("billing:write")
@write_endpoint
def record_invoice_payment_view(body: Any, invoice_id: str) -> Response:
    data = validate_body(INVOICE_PAYMENT_FIELDS, body)
    invoice = _invoice(invoice_id)
    now = get_adapters().clock()
    if data.get("paid_at") and data["paid_at"] > now:
        raise field_problem("paid_at", "Must not be in the future.")
    try:
        record_invoice_payment(get_session(), invoice, data["amount"],
                               method=data.get("method"), reference=data.get("reference"),
                               actor=g.api_actor, now=now, paid_at=data.get("paid_at"))
    except InvoiceClosed as exc:
        raise Problem(409, "Invoice closed", str(exc), type="invoice-closed") from None
    get_session().flush()
    return json_response(_json(invoice), 201)


@bp.post("/invoices/<invoice_id>/void")
@require_scope("billing:write")
@write_endpoint
def void_invoice_view(body: Any, invoice_id: str) -> Response:
    data = validate_body(VOID_FIELDS, body)
    invoice = _invoice(invoice_id)
    try:
        invoice = void_invoice(get_session(), invoice, reason=data.get("reason"),
                               actor=g.api_actor, now=get_adapters().clock())
    except InvalidInvoiceTransition as exc:
        raise invalid_state(f"cannot void an invoice that is {exc.status.value}") from None
    except InvoiceClosed as exc:
        raise Problem(409, "Invoice closed", str(exc), type="invoice-closed") from None
    return json_response(_json(invoice))


@bp.get("/invoices/<invoice_id>/pdf")
@require_scope("billing:read")
def get_invoice_pdf(invoice_id: str) -> Response:
    from portal.invoices.pdf import invoice_pdf
    from portal.payments.links import checkout_url

    invoice = _invoice(invoice_id)
    request = invoice.payment_request
    body = invoice_pdf(invoice, checkout_url(request) if request else None)
    name = re.sub(r"[^A-Za-z0-9._-]", "_", invoice.number)
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{name}.pdf"'})
