"""What each endpoint accepts: body fields and query parameters, declared once for both the
views (validation) and the OpenAPI document."""

from __future__ import annotations

from portal.api.pagination import CURSOR, LIMIT, PAGE_PARAMS, STARTING_AFTER
from portal.api.validation import Field
from portal.mandates.models import (
    InvitationChannel,
    MandateStatus,
    Scheme,
    SequenceType,
    SigningMethod,
)

#: The longest an invitation may stay open.
MAX_DAYS = 90

CUSTOMER_FIELDS = (
    Field("name", "string", required=True, min_length=1, max_length=140, format="name",
          description="The customer's name as you know it.", example="Sam de Vries"),
    Field("email", "string", format="email", max_length=254,
          description="Needed for `send_via: email`.", example="sam@example.org"),
    Field("phone", "string", format="phone",
          description="International number, e.g. +31612345678 (spaces, dashes, dots and "
                      "parentheses allowed; kept as E.164). Needed for `send_via: sms`."),
    Field("locale", "string", format="locale",
          description="Language of the signing page and emails (default: the merchant's)."),
)
CREATE_FIELDS = (
    Field("customer", "object", required=True, fields=CUSTOMER_FIELDS,
          description="Who is asked to sign (the debtor, as you know them)."),
    Field("scheme", "string", enum=tuple(s.value for s in Scheme),
          description="SEPA scheme (default CORE). A `B2B` mandate may only be confirmed "
                      "by the debtor's bank (`signing_methods: [\"bank_emandate\"]`); where "
                      "this portal has no bank signing, `B2B` answers 422 "
                      "`scheme-not-offered`."),
    Field("sequence_type", "string", enum=tuple(s.value for s in SequenceType),
          description="Recurrent or one-off debits (default recurrent)."),
    Field("signing_methods", "array", enum=tuple(m.value for m in SigningMethod), min_length=1,
          description="How the customer may sign, in the order offered: "
                      "`payment_verification` (a one-cent iDEAL payment from the account; "
                      "Core only) and `bank_emandate` (at their own bank through eMandates; "
                      "Core and B2B). Default: your merchant setting for Core, "
                      "`[\"bank_emandate\"]` for B2B (the only way a B2B mandate is valid).",
          example=["bank_emandate", "payment_verification"]),
    Field("max_amount_cents", "integer", minimum=1, maximum=99_999_999_999,
          description="B2B only, optional: the most one collection may take, in euro cents, "
                      "as the debtor's bank registers it."),
    Field("reason", "string", max_length=70,
          description="What the mandate is for, as the debtor's bank shows it when signing "
                      "there (default: your display name and 'direct debit').",
          example="Wholesale supplies"),
    Field("external_reference", "string", max_length=100,
          description="Your reference for the customer (ERP/CRM id); filterable.",
          example="CUST-0042"),
    Field("expires_at", "string", format="date-time",
          description=f"When the link stops working (at most {MAX_DAYS} days ahead)."),
    Field("expires_in_days", "integer", minimum=1, maximum=MAX_DAYS,
          description="Alternative to `expires_at` (default: INVITATION_TTL_DAYS, 14)."),
    Field("send_via", "string", enum=tuple(c.value for c in InvitationChannel),
          description="`email` mails the link now, `sms` texts its short link; reminders "
                      "follow on your schedule until the mandate is signed. `none` (default) "
                      "leaves sending to you."),
    Field("return_url", "string", format="url",
          description="Where the confirmation page sends the customer back to (your page)."),
)

LIST_PARAMS = (
    *PAGE_PARAMS,
    Field("status", "string", enum=tuple(s.value for s in MandateStatus),
          description="Only mandates in this status.", example="active"),
    Field("scheme", "string", enum=tuple(s.value for s in Scheme),
          description="Only mandates of this scheme."),
    Field("external_reference", "string", max_length=100,
          description="Only mandates of the customer with this reference of yours."),
    Field("iban", "string", format="iban", max_length=42,
          description="Only mandates signed for this debtor account (exact match; spaces "
                      "allowed).", example="NL91ABNA0417164300"),
)
CHANGE_FIELDS = (
    Field("expires_in_days", "integer", minimum=1, maximum=MAX_DAYS,
          description="How long the link works (default: INVITATION_TTL_DAYS, 14)."),
)
REVOKE_FIELDS = (
    Field("reason", "string", max_length=140, description="Why, for the audit trail.",
          example="Customer ended the contract"),
)

FEED_PARAMS = (
    LIMIT,
    Field("after", "string", max_length=60,
          description="Return the events after this one (the last you processed)."),
    STARTING_AFTER,
    CURSOR,
    Field("type", "string", max_length=64, description="Only events of this type.",
          example="mandate.active"),
)


# -- Payment requests ---------------------------------------------------------------------------

#: The longest a payment request may stay payable, and the largest amount (€100,000).
MAX_REQUEST_DAYS = 365
MAX_AMOUNT_CENTS = 10_000_000
METHOD_NAMES = ("ideal", "creditcard", "bancontact", "paypal")
REQUEST_STATUSES = ("open", "partly_paid", "paid", "overpaid", "expired", "withdrawn",
                    "refunded", "partly_refunded")

PAYMENT_REQUEST_FIELDS = (
    Field("amount", "integer", required=True, minimum=1, maximum=MAX_AMOUNT_CENTS,
          description="What the customer owes, in euro cents.", example=4250),
    Field("currency", "string", enum=("EUR",), description="Only EUR (the default)."),
    Field("description", "string", required=True, min_length=1, max_length=140,
          description="What it is for, shown to the customer.", example="Membership 2030"),
    Field("invoice_number", "string", max_length=35,
          description="Your invoice number; shown to the customer and filterable.",
          example="2030-0042"),
    Field("external_reference", "string", max_length=100,
          description="Your own reference (order id); filterable."),
    Field("customer", "object", fields=CUSTOMER_FIELDS,
          description="A new customer. Give this or `customer_id`."),
    Field("customer_id", "string", max_length=60,
          description="An existing customer (`cus_…`, e.g. of a mandate or an earlier "
                      "request). Give this or `customer`."),
    Field("due_date", "string", format="date",
          description="When it should be paid; reminders are counted from it.",
          example="2030-03-31"),
    Field("expires_at", "string", format="date-time",
          description=f"When the link stops taking payments (at most {MAX_REQUEST_DAYS} days "
                      "ahead; default PAYMENT_REQUEST_TTL_DAYS, 30)."),
    Field("expires_in_days", "integer", minimum=1, maximum=MAX_REQUEST_DAYS,
          description="Alternative to `expires_at`."),
    Field("methods", "array", enum=METHOD_NAMES, max_items=len(METHOD_NAMES),
          description="Methods the customer may choose from (default: all you have enabled)."),
    Field("allow_partial", "boolean",
          description="The customer may pay part now and the rest later (default false)."),
    Field("offer_mandate", "boolean",
          description="Offer \"pay this and future invoices by direct debit\" (or by card) "
                      "on the checkout page (default: your merchant setting)."),
    Field("collect", "string", enum=("automatic", "link"),
          description="`automatic` (default) charges the customer's valid stored card token or "
                      "direct-debit mandate without them acting, and sends the link only when "
                      "there is none or it is refused; `link` always lets them pay by link."),
    Field("return_url", "string", format="url",
          description="Where the checkout sends the customer back to (your page)."),
    Field("send_via", "string", enum=("email", "sms", "none"),
          description="`email` mails the link now, `sms` texts its short link; reminders "
                      "follow on your schedule around `due_date` until it is paid. `none` "
                      "(default) leaves sending to you."),
)
REQUEST_LIST_PARAMS = (
    *PAGE_PARAMS,
    Field("status", "string", enum=REQUEST_STATUSES, description="Only requests in this status.",
          example="open"),
    Field("customer_id", "string", max_length=60, description="Only this customer's requests."),
    Field("invoice_number", "string", max_length=35, description="Only this invoice number."),
    Field("external_reference", "string", max_length=100,
          description="Only requests with this reference of yours."),
)
WITHDRAW_FIELDS = (
    Field("reason", "string", max_length=140, description="Why, for the audit trail."),
)
EXTERNAL_PAYMENT_FIELDS = (
    Field("amount", "integer", required=True, minimum=1, maximum=MAX_AMOUNT_CENTS,
          description="What was paid, in euro cents.", example=2000),
    Field("source", "string", required=True, enum=("external",),
          description="`external`: paid outside the portal (bank transfer, cash)."),
    Field("method", "string", max_length=30, description="How, e.g. `banktransfer`, `cash`.",
          example="banktransfer"),
    Field("reference", "string", max_length=100,
          description="Your reference for it (bank statement line, receipt number)."),
    Field("paid_at", "string", format="date-time", description="When (default: now)."),
)
REFUND_FIELDS = (
    Field("amount", "integer", minimum=1, maximum=MAX_AMOUNT_CENTS,
          description="In euro cents (default: everything still refundable of the payment)."),
    Field("payment", "string", max_length=60,
          description="The payment (`ptx_…`) to refund (default: the one with most left)."),
    Field("description", "string", max_length=140, description="Shown on the payer's statement "
          "where the provider can."),
)
