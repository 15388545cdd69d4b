"""What the invoice, plan and subscription endpoints accept, declared once for the views and
the OpenAPI document."""

from __future__ import annotations

from portal.api.inputs import CUSTOMER_FIELDS, MAX_AMOUNT_CENTS, METHOD_NAMES
from portal.api.pagination import PAGE_PARAMS
from portal.api.validation import Field
from portal.invoices.models import InvoiceStatus
from portal.subscriptions.models import Interval, SubscriptionStatus

#: At most this many lines on an invoice, and operations in one bulk request.
MAX_LINES = 100
MAX_BULK = 500

_VAT = Field("vat_rate", "string", max_length=6,
             description="VAT percentage included in the amount, e.g. \"21\" or \"5.5\" "
                         "(default: none).", example="21")
_CUSTOMER = Field("customer", "object", fields=CUSTOMER_FIELDS,
                  description="A new customer (or give `customer_id`).")
_CUSTOMER_ID = Field("customer_id", "string", max_length=60,
                     description="An existing customer (`cus_…`).")
_REFERENCE = Field("external_reference", "string", max_length=100,
                   description="Your reference (order, contract); filterable.")

LINE_FIELDS = (
    Field("description", "string", required=True, min_length=1, max_length=140,
          example="Coaching session"),
    Field("quantity", "integer", minimum=1, maximum=100_000, description="Default 1."),
    Field("unit_amount", "integer", required=True, minimum=0, maximum=MAX_AMOUNT_CENTS,
          description="Euro cents per unit, without VAT.", example=5000),
    Field("vat_rate", "string", required=True, max_length=6,
          description="VAT percentage on this line.", example="21"),
)
INVOICE_FIELDS = (
    _CUSTOMER, _CUSTOMER_ID,
    Field("description", "string", required=True, min_length=1, max_length=140,
          description="What the invoice is for (also on the debtor's statement).",
          example="Coaching March"),
    Field("amount", "integer", minimum=1, maximum=MAX_AMOUNT_CENTS,
          description="Euro cents, VAT included (or give `lines`).", example=12100),
    _VAT,
    Field("lines", "array", max_items=MAX_LINES, fields=LINE_FIELDS,
          description="Lines priced without VAT (instead of `amount`)."),
    Field("number", "string", min_length=1, max_length=35,
          description="Your own invoice number (default: your next number)."),
    Field("issue_date", "string", format="date", description="Default today."),
    Field("due_date", "string", format="date",
          description="Default the issue date plus your due days (14)."),
    Field("mandate", "string", max_length=60,
          description="Collect on this mandate (`md_…`); default the customer's active one."),
    Field("methods", "array", enum=METHOD_NAMES,
          description="Without a mandate: the checkout's methods (default all enabled)."),
    Field("offer_mandate", "boolean",
          description="Without a mandate: offer to pay future invoices by direct debit."),
    _REFERENCE,
)
INVOICE_LIST_PARAMS = (
    *PAGE_PARAMS,
    Field("status", "string", enum=tuple(s.value for s in InvoiceStatus)),
    Field("customer_id", "string", max_length=60),
    Field("subscription", "string", max_length=60, description="Only this subscription's."),
    Field("number", "string", max_length=35),
    Field("external_reference", "string", max_length=100),
)
INVOICE_PAYMENT_FIELDS = (
    Field("amount", "integer", required=True, minimum=1, maximum=MAX_AMOUNT_CENTS,
          description="What was paid outside the portal, in euro cents.", example=12100),
    Field("method", "string", max_length=30, example="banktransfer"),
    Field("reference", "string", max_length=100),
    Field("paid_at", "string", format="date-time", description="When (default: now)."),
)
VOID_FIELDS = (Field("reason", "string", max_length=140, description="For the audit trail."),)

PLAN_FIELDS = (
    Field("name", "string", required=True, min_length=1, max_length=100,
          example="Membership"),
    Field("amount", "integer", required=True, minimum=1, maximum=MAX_AMOUNT_CENTS,
          description="Euro cents per period, VAT included.", example=2500),
    _VAT,
    Field("interval", "string", required=True, enum=tuple(i.value for i in Interval)),
    Field("term_periods", "integer", minimum=1, maximum=1000,
          description="Ends after this many billed periods (or give `term_end_date`)."),
    Field("term_end_date", "string", format="date", description="Ends on this day."),
)

SUBSCRIPTION_FIELDS = (
    _CUSTOMER, _CUSTOMER_ID,
    Field("plan", "string", required=True, max_length=60, example="plan_4hT8qZ"),
    Field("start_date", "string", format="date", description="Default today: then the first "
          "period is billed at once."),
    Field("anchor_day", "integer", minimum=1, maximum=31,
          description="Day of the month periods start on (default the start date's)."),
    Field("mandate", "string", max_length=60,
          description="The customer's active mandate to collect on (`md_…`). Without one, "
                      "each invoice is a payment request."),
    Field("offer_mandate", "boolean",
          description="Without a mandate: the first invoice's checkout offers to pay the "
                      "following ones by direct debit (sold through the checkout)."),
    _REFERENCE,
)
SUBSCRIPTION_LIST_PARAMS = (
    *PAGE_PARAMS,
    Field("status", "string", enum=tuple(s.value for s in SubscriptionStatus)),
    Field("customer_id", "string", max_length=60),
    Field("plan", "string", max_length=60),
    Field("external_reference", "string", max_length=100),
)
PAUSE_FIELDS = (
    Field("pause_from", "string", format="date", description="Default today."),
    Field("resume_on", "string", format="date",
          description="Resume by itself on this day (default: until resumed)."),
)
RESUME_FIELDS = (
    Field("resume_on", "string", format="date", description="Default today."),
)
STOP_FIELDS = (
    Field("at", "string", required=True, enum=("period_end", "now"),
          description="`period_end`: bill no further period; `now`: stop today."),
)
CHANGE_PLAN_FIELDS = (
    Field("plan", "string", required=True, max_length=60,
          description="Billed from the next period on."),
)
#: The fields each bulk action takes besides ``action`` and ``subscription``.
BULK_ACTIONS: dict[str, tuple[str, ...]] = {
    "pause": ("pause_from", "resume_on"), "resume": ("resume_on",), "stop": ("at",),
    "change_plan": ("plan",),
}
BULK_OPERATION_FIELDS = (
    Field("action", "string", required=True, enum=tuple(BULK_ACTIONS)),
    Field("subscription", "string", required=True, max_length=60, example="sub_8xK2pL"),
    *PAUSE_FIELDS,
    Field("at", "string", enum=("period_end", "now"), description="`stop`: required."),
    Field("plan", "string", max_length=60, description="`change_plan`: required."),
)
BULK_FIELDS = (
    Field("operations", "array", required=True, max_items=MAX_BULK,
          fields=BULK_OPERATION_FIELDS,
          description=f"Up to {MAX_BULK} operations, done all together or not at all."),
)
