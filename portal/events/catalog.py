"""Every event type the portal emits, with what it means and what its ``data`` carries: the
OpenAPI document (its ``webhooks``) and the API docs page are built from this one list."""

from __future__ import annotations

_MANDATE = "`mandate`, `status`, `previous_status`"
_INVITATION = "`invitation`, `mandate`"
_BANK = ("`mandate`, `transaction`, `kind` (`new`, `amend`, `cancel`), `outcome`, `reason`, "
         "`debtor_bank`")
_REQUEST = ("`payment_request`, `status`, `previous_status`, `amount`, `paid_amount`, "
            "`open_amount`, `refunded_amount`, `invoice_number`")
_INVOICE = ("`invoice`, `number`, `status`, `customer`, `amount`, `paid_amount`, "
            "`open_amount`, `issue_date`, `due_date`, `collection`, `collection_id`")
_SUBSCRIPTION = "`subscription`, `status`, `customer`, `plan`, `mandate`, `stored_mandate`"
_REFUND = "`refund`, `status`, `amount`, `payment`, `payment_request`, `automatic`"

#: type → (when it is emitted, what ``data`` holds).
EVENT_TYPES: dict[str, tuple[str, str]] = {
    "mandate.created": ("A mandate was created (invited, or signed at a checkout).",
                        "`mandate`, `invitation` or `payment_request`, `reference`, `status`"),
    "mandate.signed": (("The customer consented; the mandate awaits its verification payment. "
                        "Once per mandate: consenting again to retry a failed cent is not a "
                        "second signature."), _MANDATE),
    "mandate.verification_failed": (("The verification payment failed, was cancelled or "
                                     "expired (`reason`); the customer may try again, the "
                                     "mandate still awaits verification."),
                                    "`mandate`, `status`, `payment`, `reason`"),
    "mandate.active": ("The bank confirmed: the mandate may be collected on.", _MANDATE),
    "mandate.imported": (("A mandate signed elsewhere was imported from a CSV batch and is "
                          "active."), _MANDATE),
    "mandate.failed": ("The account cannot carry a SEPA mandate.", _MANDATE),
    "mandate.cancelled": ("Withdrawn before it became active.", _MANDATE),
    "mandate.revoked": ("Ended after it was active.", _MANDATE),
    "mandate.expired": ("Never signed in time, or unused too long.", _MANDATE),
    "mandate.amended": ("The account, name or reference of an active mandate changed.", _MANDATE),
    "mandate.bank_pending": (("At the debtor's bank: the debtor finished, the bank is still "
                              "processing (e.g. a second signer)."), _BANK),
    "mandate.bank_not_authorised": (("At the debtor's bank: the signer may not sign for the "
                                     "company; the link stays usable for someone who may."),
                                    _BANK),
    "mandate.bank_rejected": ("At the debtor's bank: the bank did not accept the mandate.",
                              _BANK),
    "mandate.bank_cancelled": ("At the debtor's bank: the debtor stopped without signing.",
                               _BANK),
    "mandate.bank_expired": ("At the debtor's bank: the request expired unfinished.", _BANK),
    "mandate.bank_failed": ("At the debtor's bank: the bank could not complete it.", _BANK),
    "invitation.created": (("A link to amend a mandate or cancel a B2B mandate at the debtor's "
                            "bank was created."), f"{_INVITATION}, `purpose`"),
    "invitation.opened": ("The customer first opened the signing link.", _INVITATION),
    "invitation.sent": ("The invitation email or SMS was handed over.",
                        f"{_INVITATION}, `channel`"),
    "invitation.delivery_failed": ("The invitation message was refused for good.",
                                   f"{_INVITATION}, `channel`, `error`, `reminder`"),
    "invitation.not_sent": (("The invitation message was not sent because nobody needed it any "
                             "more: `reason` `signed` (the customer signed first), `withdrawn`, "
                             "`expired` or `closed`."),
                            f"{_INVITATION}, `channel`, `reason`"),
    "invitation.expired": ("Nobody signed before `expires_at`.", _INVITATION),
    "invitation.withdrawn": ("You withdrew the invitation.", _INVITATION),
    "payment_request.created": ("A payment request was created.", f"{_REQUEST}, `customer`"),
    "payment_request.partly_paid": ("A payment arrived that leaves part of the amount open.",
                                    f"{_REQUEST}, `payment`, `source`, `method`, `late`"),
    "payment_request.paid": (("The request is paid in full. `late` is true when the payment "
                             "arrived after it expired or was withdrawn."),
                             f"{_REQUEST}, `payment`, `source`, `method`, `late`"),
    "payment_request.overpaid": (("More arrived than was asked; `double_payment` is true when "
                                 "a second payment paid a request that was paid already. The "
                                 "excess is refundable."),
                                 f"{_REQUEST}, `payment`, `late`, `double_payment`"),
    "payment_request.failed": (("A payment attempt failed (not a customer's cancellation). For a "
                               "charge on a stored card or mandate, `fallback: pay_link` says "
                               "the customer was sent the link instead."),
                               f"{_REQUEST}, `payment`, `reason`, `method`, `fallback`"),
    "payment_request.expired": ("It expired unpaid (or partly paid).", _REQUEST),
    "payment_request.withdrawn": ("You withdrew it.", _REQUEST),
    "payment_request.reminder_sent": ("A reminder went out.", f"{_REQUEST}, `step`, `channel`"),
    "payment_request.resent": (("You asked for the link to be sent to the customer again "
                                "(from the console); `channel` is how."),
                               f"{_REQUEST}, `channel`"),
    "refund.created": ("A refund was made (by you, or automatically for the one-cent check).",
                       _REFUND),
    "refund.succeeded": ("The money went back to the payer.", _REFUND),
    "refund.failed": ("The refund could not be made; nothing went back.", f"{_REFUND}, `reason`"),
    "chargeback.received": (("The payer's bank took a payment (or part of it) back; the request "
                            "is open again for that amount."),
                            ("`chargeback`, `payment`, `payment_request`, `amount`, "
                            "`reason_code`, `reason`, `status`, `open_amount`")),
    # collections
    "debit.scheduled": ("A debit was planned (the debtor is pre-notified).",
                        ("`debit`, `mandate`, `status`, `amount`, `collection_date`, "
                        "`sequence_type`, `attempt`")),
    "debit.submitted": ("The debit went to the bank in a pain.008 batch (or to the provider).",
                        "as `debit.scheduled`, plus `end_to_end_id`"),
    "debit.collected": ("The money arrived.", "as `debit.scheduled`"),
    "debit.failed": (("The bank rejected or returned it. `will_retry` says whether it is "
                     "presented again (`retry_collection_date`); after the last failure "
                     "`pay_link` is where the customer can pay the open amount."),
                     ("as `debit.scheduled`, plus `reason_code`, `reason`, `will_retry`, "
                     "`retry_collection_date`, `pay_link`, `amendment_invitation`")),
    "debit.retry_scheduled": ("A failed debit was planned again (its 2nd or 3rd attempt).",
                              "as `debit.scheduled`"),
    "debit.refunded": ("The debtor claimed the money back (MD06).",
                       "as `debit.scheduled`, plus `reason_code`, `reason`"),
    "debit.reduced": ("A payment before export lowered what the debit collects.",
                      "as `debit.scheduled`, plus `previous_amount`, `paid_amount`"),
    "debit.cancelled": ("Cancelled before it was submitted (by you, or paid in full).",
                        "as `debit.scheduled`"),
    "batch.exported": ("A pain.008 file was written and validated.",
                       ("`batch`, `message_id`, `pain_version`, `scheme`, `transaction_count`, "
                       "`control_sum`, `first_collection_date`, `sha256`")),
    "returns.imported": ("A bank report (pain.002, camt.054, CSV) was applied.",
                         "`returns_import`, `format`, `counts`, `sha256`"),
    "mandate.unusable": (("The debtor's account was closed (AC04): no more collections on this "
                         "mandate; `amendment_invitation` asks the debtor to sign again."),
                         "`mandate`, `reason_code`, `reason`, `debit`, `amendment_invitation`"),
    "customer.flagged": ("The debtor's bank blocks your collections (SL01).",
                         "`customer`, `reason_code`, `reason`, `debit`"),
    # invoices and subscriptions
    "invoice.created": (("An invoice was made with its one collection: a debit on an active "
                        "mandate, else a payment request."),
                        f"{_INVOICE}; a subscription's also `subscription`, `period`"),
    "invoice.paid": ("Everything owed arrived (collected, paid, or both).",
                     f"{_INVOICE}, `previous_status`, `double_payment`"),
    "invoice.overdue": ("The due date passed unpaid, and no first attempt is on its way.",
                        f"{_INVOICE}, `previous_status`"),
    "invoice.reopened": (("Money on a paid invoice was taken back (a return, a chargeback, "
                          "MD06): it is owed again."),
                         f"{_INVOICE}, `previous_status`, `reason`"),
    "invoice.voided": ("You voided it; its collection was stopped.",
                       f"{_INVOICE}, `previous_status`, `reason`"),
    "subscription.created": ("A subscription was started.",
                             f"{_SUBSCRIPTION}, `start_date`, `anchor_day`"),
    "subscription.paused": ("A pause began: no period starting in it is billed.",
                            f"{_SUBSCRIPTION}, `previous_status`, `paused_from`, `resume_on`"),
    "subscription.resumed": ("The pause ended; billing goes on.",
                             f"{_SUBSCRIPTION}, `previous_status`"),
    "subscription.changed": (("Another plan applies from this period, or the subscription is "
                             "collected on another mandate or card token (e.g. the one its "
                             "first checkout payment set up)."),
                             f"{_SUBSCRIPTION}, `previous_status`, `effective_from`, `previous_plan`"),
    "subscription.stopped": ("It ended (at once, at a period's end, or with its term).",
                             f"{_SUBSCRIPTION}, `previous_status`, `reason`"),
    "subscription.period_billed": ("A period's invoice and its collection were made (once).",
                                   (f"{_SUBSCRIPTION}, `period`, `period_start`, "
                                    "`period_end` (its last day), `invoice`, `amount`, "
                                    "`collection`, `collection_id`")),
}
