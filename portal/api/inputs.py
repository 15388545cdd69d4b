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
    Field("name", "string", required=True, min_length=1, max_length=140,
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
          description="SEPA scheme (default CORE)."),
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
)

LIST_PARAMS = (
    *PAGE_PARAMS,
    Field("status", "string", enum=tuple(s.value for s in MandateStatus),
          description="Only mandates in this status.", example="active"),
    Field("scheme", "string", enum=tuple(s.value for s in Scheme),
          description="Only mandates of this scheme."),
    Field("external_reference", "string", max_length=100,
          description="Only mandates of the customer with this reference of yours."),
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
