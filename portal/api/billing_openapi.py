"""The billing part of the OpenAPI document: invoices, plans and subscriptions."""

from __future__ import annotations

from typing import Any

from portal.api.billing_inputs import (
    BULK_FIELDS,
    CHANGE_PLAN_FIELDS,
    INVOICE_FIELDS,
    INVOICE_LIST_PARAMS,
    INVOICE_PAYMENT_FIELDS,
    MAX_BULK,
    PAUSE_FIELDS,
    PLAN_FIELDS,
    RESUME_FIELDS,
    STOP_FIELDS,
    SUBSCRIPTION_FIELDS,
    SUBSCRIPTION_LIST_PARAMS,
    VOID_FIELDS,
)
from portal.api.openapi_parts import (
    NOT_FOUND,
    PREFIX,
    WRITE,
    WRITE_ERRORS,
    closed,
    created,
    date_schema,
    list_of,
    listing,
    nullable,
    ok,
    operation,
    path_id,
    problem,
    reading,
    ref,
    time_schema,
)
from portal.api.pagination import PAGE_PARAMS
from portal.api.validation import Field, object_schema
from portal.invoices.models import CollectionKind, InvoiceStatus
from portal.subscriptions.models import Interval, SubscriptionStatus

TAGS = [{"name": "Invoices", "description": "Your invoices, each collected once (a debit on an "
                                            "active mandate, else a payment request) and "
                                            "marked paid by itself."},
        {"name": "Plans", "description": "What a subscription bills each period."},
        {"name": "Subscriptions", "description": "Plans per customer, billed and collected on "
                                                 "their dates by the scheduler."},
        {"name": "Bookkeeping", "description": "A month's invoices and money, for your "
                                               "accountant."}]

_CENTS = {"type": "integer", "description": "Euro cents."}


def _report_schema() -> dict[str, Any]:
    total = closed({"count": {"type": "integer"}, "amount": _CENTS})
    return closed({
        "object": {"const": "bookkeeping_report"}, "currency": {"const": "EUR"},
        "start_date": date_schema(), "end_date": date_schema(),
        "invoices_issued": closed({"count": {"type": "integer"}, "amount": _CENTS,
                                    "vat": _CENTS}),
        "invoices_paid": total, "collections": total, "returns": total,
        "debit_refunds": total | {"description": "Debits the debtor claimed back (MD06)."},
        "rejected": total | {"description": "Refused before settlement: no money moved."},
        "retries": {"type": "integer", "description": "Later attempts presented."},
        "payments": total, "refunds": total, "chargebacks": total,
        "provider": closed({"settlements": {"type": "integer"}, "fees": _CENTS,
                             "payouts": _CENTS}),
        "net": _CENTS | {"description": "Money in less money out."},
        "open_by_customer": {"type": "array", "items": closed({
            "customer": {"type": "string"}, "name": {"type": "string"},
            "open_amount": _CENTS})},
        "weeks": {"type": "array", "items": closed({
            "starts_on": date_schema(), "collected": _CENTS, "failed": _CENTS})},
        "exports": {"type": "object", "additionalProperties": {"type": "string",
                                                               "format": "uri"}},
    }, "Amounts in cents; negative is money out.")


def schemas(config: Any) -> dict[str, Any]:
    def body(fields: tuple[Field, ...]) -> dict[str, Any]:
        return {"type": "object", **object_schema(fields, config)}

    return {
        "InvoiceLine": closed({
            "description": {"type": "string"}, "quantity": {"type": "integer"},
            "unit_amount": _CENTS, "vat_rate": {"type": "string", "examples": ["21"]},
            "net_amount": _CENTS, "vat_amount": _CENTS, "amount": _CENTS}),
        "InvoicePayment": closed({
            "id": {"type": "string", "examples": ["ipm_3vQ8tR"]}, "amount": _CENTS,
            "method": nullable("string"), "reference": nullable("string"),
            "effect": {"enum": ["recorded", "on_payment_request", "reduced_debit",
                                "cancelled_debit"]},
            "double_payment": {"type": "boolean"}, "paid_at": time_schema()}),
        "Invoice": closed({
            "id": {"type": "string", "examples": ["in_6wP3kS"]}, "object": {"const": "invoice"},
            "number": {"type": "string", "examples": ["INV-2026-0042"]},
            "status": {"enum": [s.value for s in InvoiceStatus]},
            "customer": ref("Customer"), "description": {"type": "string"},
            "currency": {"const": "EUR"}, "net_amount": _CENTS, "vat_amount": _CENTS,
            "amount": _CENTS, "paid_amount": _CENTS, "open_amount": _CENTS,
            "overpaid_amount": _CENTS, "issue_date": date_schema(), "due_date": date_schema(),
            "lines": {"type": "array", "items": ref("InvoiceLine")},
            "collection": {"enum": [c.value for c in CollectionKind]},
            "debit": nullable("string"), "mandate": nullable("string"),
            "debit_refused": nullable("string", description="Why no debit was possible "
                                                             "(then it is a payment request)."),
            "payment_request": nullable("string"),
            "checkout_url": nullable("string", format="uri"),
            "subscription": nullable("string"), "external_reference": nullable("string"),
            "payments": {"type": "array", "items": ref("InvoicePayment"),
                         "description": "Payments you entered (made outside the portal)."},
            "paid_at": time_schema(True), "overdue_at": time_schema(True),
            "voided_at": time_schema(True),
            "created_at": time_schema(), "updated_at": time_schema()}),
        "Plan": closed({
            "id": {"type": "string", "examples": ["plan_4hT8qZ"]}, "object": {"const": "plan"},
            "name": {"type": "string"}, "amount": _CENTS, "currency": {"const": "EUR"},
            "vat_rate": nullable("string"), "interval": {"enum": [i.value for i in Interval]},
            "term_periods": nullable("integer"), "term_end_date": date_schema(True),
            "created_at": time_schema()}),
        "SubscriptionPause": closed({
            "pause_from": date_schema(), "resume_on": date_schema(True),
            "started": {"type": "boolean"}}),
        "Subscription": closed({
            "id": {"type": "string", "examples": ["sub_8xK2pL"]},
            "object": {"const": "subscription"},
            "status": {"enum": [s.value for s in SubscriptionStatus]},
            "customer": ref("Customer"), "plan": ref("Plan"),
            "mandate": nullable("string"), "stored_mandate": nullable("string"),
            "start_date": date_schema(), "anchor_day": {"type": "integer"},
            "billed_periods": {"type": "integer"},
            "next_date": date_schema(True) | {"description": "When the next thing happens to it (a "
                                                       "period billed, a pause, a stop)."},
            "pause": {"anyOf": [ref("SubscriptionPause"), {"type": "null"}]},
            "pending_plan": nullable("string"), "pending_plan_from": date_schema(True),
            "stop_on": date_schema(True), "stop_reason": nullable("string"),
            "stopped_at": time_schema(True), "offer_mandate": {"type": "boolean"},
            "external_reference": nullable("string"),
            "created_at": time_schema(), "updated_at": time_schema()}),
        "BookkeepingReport": _report_schema(),
        "InvoiceList": list_of("Invoice"),
        "PlanList": list_of("Plan"),
        "SubscriptionList": list_of("Subscription"),
        "CreateInvoice": body(INVOICE_FIELDS),
        "CreateInvoicePayment": body(INVOICE_PAYMENT_FIELDS),
        "VoidInvoice": body(VOID_FIELDS),
        "CreatePlan": body(PLAN_FIELDS),
        "CreateSubscription": body(SUBSCRIPTION_FIELDS),
        "PauseSubscription": body(PAUSE_FIELDS),
        "ResumeSubscription": body(RESUME_FIELDS),
        "StopSubscription": body(STOP_FIELDS),
        "ChangePlan": body(CHANGE_PLAN_FIELDS),
        "BulkSubscriptions": body(BULK_FIELDS),
    }


def paths(config: Any) -> dict[str, Any]:
    """The billing paths."""
    invoice_id, plan_id = path_id("invoice_id", "in"), path_id("plan_id", "plan")
    subscription_id = path_id("subscription_id", "sub")
    month = {"name": "month", "in": "path", "required": True, "description": "e.g. 2026-03.",
             "schema": {"type": "string", "examples": ["2026-03"]}}

    def change(summary: str, body: str, operation_id: str, description: str,
               tag: str = "Subscriptions", id_: dict[str, Any] | None = None,
               name: str = "Subscription", status: str = "200") -> dict[str, Any]:
        return {"post": operation(
            summary, tag, "billing:write",
            {status: ok(name, "The object as it is now.", True), **NOT_FOUND, **WRITE_ERRORS},
            description=description, parameters=[id_ or subscription_id, *WRITE], body=body,
            operation_id=operation_id)}

    return {
        f"{PREFIX}/invoices": {
            "post": operation(
                "Create an invoice", "Invoices", "billing:write",
                {"201": created("Invoice", "The invoice and its collection."), **WRITE_ERRORS},
                description="Numbered from your sequence unless you give `number` (unique per "
                            "merchant). Its one collection: a direct debit on the customer's "
                            "active mandate (or `mandate`), not before the due date; else a "
                            "payment request whose `checkout_url` the customer pays. It is "
                            "marked paid when collected or paid (`invoice.paid`).",
                parameters=WRITE, body="CreateInvoice", operation_id="createInvoice",
                example={"customer_id": "cus_2bT9xQ", "description": "Coaching March",
                         "amount": 12100, "vat_rate": "21"}),
            "get": listing("List invoices", "Invoices", "billing:read", "InvoiceList",
                           INVOICE_LIST_PARAMS, config, "listInvoices")},
        f"{PREFIX}/invoices/{{invoice_id}}": {"get": reading(
            "Get an invoice", "Invoices", "billing:read", "Invoice", invoice_id, "getInvoice")},
        f"{PREFIX}/invoices/{{invoice_id}}/pdf": {"get": operation(
            "Get an invoice as PDF", "Invoices", "billing:read",
            {"200": {"description": "The invoice in the customer's language: lines, VAT per "
                                    "rate, totals, and how it is paid.",
                     "content": {"application/pdf": {"schema": {
                         "type": "string", "contentMediaType": "application/pdf"}}}},
             **NOT_FOUND},
            parameters=[invoice_id], operation_id="getInvoicePdf")},
        f"{PREFIX}/invoices/{{invoice_id}}/payments": change(
            "Enter a payment made elsewhere", "CreateInvoicePayment", "createInvoicePayment",
            "Before the debit goes out it lowers the debit to what is open (or cancels it); "
            "on a payment request it counts there; once the debit is at the bank it is only "
            "recorded (an excess shows as `overpaid_amount`). 409 `invoice-closed` on a void "
            "invoice.", tag="Invoices", id_=invoice_id, name="Invoice", status="201"),
        f"{PREFIX}/invoices/{{invoice_id}}/void": change(
            "Void an invoice", "VoidInvoice", "voidInvoice",
            "Cancels its debit or withdraws its payment request. 409 `invoice-closed` once "
            "money arrived or the debit is on its way; `invalid-state` when paid or void.",
            tag="Invoices", id_=invoice_id, name="Invoice"),
        f"{PREFIX}/plans": {
            "post": operation(
                "Create a plan", "Plans", "billing:write",
                {"201": created("Plan", "The plan."), **WRITE_ERRORS},
                parameters=WRITE, body="CreatePlan", operation_id="createPlan",
                example={"name": "Membership", "amount": 2500, "interval": "monthly"}),
            "get": listing("List plans", "Plans", "billing:read", "PlanList", PAGE_PARAMS,
                           config, "listPlans")},
        f"{PREFIX}/plans/{{plan_id}}": {"get": reading(
            "Get a plan", "Plans", "billing:read", "Plan", plan_id, "getPlan")},
        f"{PREFIX}/subscriptions": {
            "post": operation(
                "Start a subscription", "Subscriptions", "billing:write",
                {"201": created("Subscription", "The subscription."), **WRITE_ERRORS},
                description="Periods start on `anchor_day` (a short first period is billed by "
                            "its days); each period's invoice is made once on its first day "
                            "and collected on the mandate, or by payment request without "
                            "one. Starting today bills the first period at once. With "
                            "`offer_mandate` and no mandate, the first invoice's checkout "
                            "(iDEAL) sets up the mandate and the following periods are "
                            "collected by direct debit.",
                parameters=WRITE, body="CreateSubscription",
                operation_id="startSubscription",
                example={"customer_id": "cus_2bT9xQ", "plan": "plan_4hT8qZ",
                         "mandate": "md_5rT7wQ", "anchor_day": 1}),
            "get": listing("List subscriptions", "Subscriptions", "billing:read",
                           "SubscriptionList", SUBSCRIPTION_LIST_PARAMS, config,
                           "listSubscriptions")},
        f"{PREFIX}/subscriptions/{{subscription_id}}": {"get": reading(
            "Get a subscription", "Subscriptions", "billing:read", "Subscription",
            subscription_id, "getSubscription")},
        f"{PREFIX}/subscriptions/{{subscription_id}}/pause": change(
            "Pause a subscription", "PauseSubscription", "pauseSubscription",
            "No period starting from `pause_from` (default today) is billed until "
            "`resume_on`, or until resumed. A pause planned but not begun is replaced; 409 "
            "`invalid-state` during a pause or once stopped."),
        f"{PREFIX}/subscriptions/{{subscription_id}}/resume": change(
            "Resume a subscription", "ResumeSubscription", "resumeSubscription",
            "Ends the pause today or on `resume_on`; a planned pause is dropped. 409 "
            "`invalid-state` without a pause."),
        f"{PREFIX}/subscriptions/{{subscription_id}}/stop": change(
            "Stop a subscription", "StopSubscription", "stopSubscription",
            "`at: now` stops it today; `at: period_end` bills no further period. 409 "
            "`ignored-repeat` when already stopping then, `invalid-state` once stopped."),
        f"{PREFIX}/subscriptions/{{subscription_id}}/change-plan": change(
            "Change a subscription's plan", "ChangePlan", "changeSubscriptionPlan",
            "The new plan is billed from the next period on (`subscription.changed` that "
            "day). 409 `ignored-repeat` when already on it."),
        f"{PREFIX}/bookkeeping/{{month}}": {"get": operation(
            "Get a month's bookkeeping", "Bookkeeping", "billing:read",
            {"200": ok("BookkeepingReport", "The report."),
             "422": problem("Not a month like 2026-03.")},
            description="Invoices issued and paid; collections, returns, MD06 refunds, "
                        "rejections and retries; checkout and entered payments, refunds, "
                        "chargebacks; provider fees and payouts from its settlements; the "
                        "open amount per customer at the month's end; collected versus "
                        "failed per week. Days are the bank's (Europe/Amsterdam).",
            parameters=[month], operation_id="getBookkeepingReport")},
        f"{PREFIX}/bookkeeping/{{month}}/{{export}}.csv": {"get": operation(
            "Download a month's CSV", "Bookkeeping", "billing:read",
            {"200": {"description": "UTF-8 with a byte order mark, comma-separated, dates as "
                                    "2026-03-31, euros as -12.34. `transactions`: every "
                                    "movement of money with its invoice number; `invoices`: "
                                    "the invoices issued; `open-amounts`: per customer.",
                     "content": {"text/csv": {"schema": {"type": "string"}}}},
             **NOT_FOUND, "422": problem("Not a month like 2026-03.")},
            parameters=[month, {"name": "export", "in": "path", "required": True,
                                "schema": {"enum": ["transactions", "invoices",
                                                    "open-amounts"],
                                           "examples": ["transactions"]}}],
            operation_id="getBookkeepingExport")},
        f"{PREFIX}/subscriptions/bulk": {"post": operation(
            "Change many subscriptions", "Subscriptions", "billing:write",
            {"200": ok("SubscriptionList", "The subscriptions changed.", True),
             **WRITE_ERRORS},
            description=f"Up to {MAX_BULK} operations (`pause`, `resume`, `stop`, "
                        "`change_plan`, with the same fields as the single endpoints), all "
                        "or nothing: if any is refused, 422 lists each refusal by position "
                        "(`operations[3].plan`) and nothing changed.",
            parameters=WRITE, body="BulkSubscriptions", operation_id="bulkSubscriptions",
            example={"operations": [
                {"action": "pause", "subscription": "sub_8xK2pL", "pause_from": "2030-07-01",
                 "resume_on": "2030-09-01"},
                {"action": "change_plan", "subscription": "sub_3mN7qR",
                 "plan": "plan_4hT8qZ"}]})},
    }
