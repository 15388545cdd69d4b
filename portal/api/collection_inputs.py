"""What the collections endpoints accept: debits, their filters, batch and returns lists."""

from __future__ import annotations

from portal.api.pagination import PAGE_PARAMS
from portal.api.validation import Field
from portal.collections.models import DebitStatus

DEBIT_FIELDS = (
    Field("mandate", "string", required=True, max_length=60,
          description="The active mandate to collect from (`md_…`).", example="md_5rT7wQ"),
    Field("amount", "integer", required=True, minimum=1, maximum=99_999_999_999,
          description="Euro cents to collect.", example=2500),
    Field("description", "string", required=True, min_length=1, max_length=140,
          description="Shown on the debtor's statement (remittance information; transliterated "
                      "to the SEPA character set).", example="Membership April"),
    Field("invoice_number", "string", max_length=35, description="Your invoice number."),
    Field("payment_request", "string", max_length=60,
          description="The payment request (`preq_…`) this debit collects: what the customer "
                      "pays on it before the debit goes to the bank lowers the debit, or "
                      "cancels it when paid in full."),
    Field("collection_date", "string", format="date",
          description="Not before this date (e.g. the invoice's due date); default: as early as "
                      "the calendar, D-1, your lead time and the pre-notification allow."),
    Field("final", "boolean",
          description="The last collection on this mandate (sequence type FNAL)."),
)
DEBIT_LIST_PARAMS = (
    *PAGE_PARAMS,
    Field("status", "string", enum=tuple(s.value for s in DebitStatus),
          description="Only debits in this status."),
    Field("mandate", "string", max_length=60, description="Only debits on this mandate."),
)
CANCEL_FIELDS = (
    Field("reason", "string", max_length=140, description="Why, for the audit trail."),
)
