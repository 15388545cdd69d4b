"""JSON of invoices, plans and subscriptions."""

from __future__ import annotations

from datetime import date
from typing import Any

from portal.api.serializers import customer_json, timestamp
from portal.invoices.models import Invoice
from portal.subscriptions.models import PauseState, Plan, Subscription
from portal.subscriptions.schedule import open_pause


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def invoice_json(invoice: Invoice, subscription: str | None = None) -> dict[str, Any]:
    """``subscription``: the public id of the subscription that billed it, if any."""
    from portal.payments.links import checkout_url

    request = invoice.payment_request
    return {
        "id": invoice.public_id, "object": "invoice", "number": invoice.number,
        "status": invoice.status.value, "customer": customer_json(invoice.customer),
        "description": invoice.description, "currency": invoice.currency,
        "net_amount": invoice.net_cents, "vat_amount": invoice.vat_cents,
        "amount": invoice.amount_cents, "paid_amount": invoice.paid_cents,
        "open_amount": invoice.open_cents, "overpaid_amount": invoice.overpaid_cents,
        "issue_date": invoice.issue_date.isoformat(), "due_date": invoice.due_date.isoformat(),
        "lines": [{"description": item.description, "quantity": item.quantity,
                   "unit_amount": item.unit_amount_cents, "vat_rate": item.vat_rate,
                   "net_amount": item.net_cents, "vat_amount": item.vat_cents,
                   "amount": item.gross_cents} for item in invoice.lines],
        "collection": invoice.collection.value,
        "debit": invoice.debit.public_id if invoice.debit else None,
        "mandate": invoice.mandate.public_id if invoice.mandate else None,
        "debit_refused": invoice.debit_refused,
        "payment_request": request.public_id if request else None,
        "checkout_url": checkout_url(request) if request else None,
        "subscription": subscription, "external_reference": invoice.external_reference,
        "payments": [{"id": p.public_id, "amount": p.amount_cents, "method": p.method,
                      "reference": p.reference, "effect": p.effect, "double_payment": p.double,
                      "paid_at": timestamp(p.paid_at)} for p in invoice.payments],
        "paid_at": timestamp(invoice.paid_at), "overdue_at": timestamp(invoice.overdue_at),
        "voided_at": timestamp(invoice.voided_at), "created_at": timestamp(invoice.created_at),
        "updated_at": timestamp(invoice.updated_at),
    }


def plan_json(plan: Plan) -> dict[str, Any]:
    return {
        "id": plan.public_id, "object": "plan", "name": plan.name, "amount": plan.amount_cents,
        "currency": "EUR", "vat_rate": plan.vat_rate, "interval": plan.interval.value,
        "term_periods": plan.term_periods, "term_end_date": _day(plan.term_end_date),
        "created_at": timestamp(plan.created_at),
    }


def subscription_json(subscription: Subscription) -> dict[str, Any]:
    pause = open_pause(subscription)
    return {
        "id": subscription.public_id, "object": "subscription",
        "status": subscription.status.value, "customer": customer_json(subscription.customer),
        "plan": plan_json(subscription.plan),
        "mandate": subscription.mandate.public_id if subscription.mandate else None,
        "stored_mandate": subscription.stored_mandate.public_id
        if subscription.stored_mandate else None,
        "start_date": subscription.start_date.isoformat(),
        "anchor_day": subscription.anchor_day, "billed_periods": subscription.billed_periods,
        "next_date": _day(subscription.due_on),
        "pause": None if pause is None else {
            "pause_from": pause.starts_on.isoformat(), "resume_on": _day(pause.resumes_on),
            "started": pause.state is PauseState.CURRENT},
        "pending_plan": subscription.pending_plan.public_id
        if subscription.pending_plan else None,
        "pending_plan_from": _day(subscription.pending_plan_from),
        "stop_on": _day(subscription.stop_on), "stop_reason": subscription.stop_reason,
        "stopped_at": timestamp(subscription.stopped_at),
        "offer_mandate": subscription.offer_mandate,
        "external_reference": subscription.external_reference,
        "created_at": timestamp(subscription.created_at),
        "updated_at": timestamp(subscription.updated_at),
    }
