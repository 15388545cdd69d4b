"""The OpenAPI 3.1 document of the merchant API, built as a dict from the same field specs the
views validate with; ``/api/v1/openapi.json`` serves it and ``/api/v1/docs`` renders it."""

from __future__ import annotations

from typing import Any

from portal.api.billing_openapi import TAGS as BILLING_TAGS
from portal.api.billing_openapi import paths as billing_paths
from portal.api.billing_openapi import schemas as billing_schemas
from portal.api.collection_openapi import TAGS as COLLECTION_TAGS
from portal.api.collection_openapi import paths as collection_paths
from portal.api.collection_openapi import schemas as collection_schemas
from portal.api.inputs import (
    CHANGE_FIELDS,
    CREATE_FIELDS,
    EXTERNAL_PAYMENT_FIELDS,
    FEED_PARAMS,
    LIST_PARAMS,
    PAYMENT_REQUEST_FIELDS,
    REFUND_FIELDS,
    REQUEST_LIST_PARAMS,
    REQUEST_STATUSES,
    REVOKE_FIELDS,
    WITHDRAW_FIELDS,
)
from portal.api.models import SCOPES
from portal.api.openapi_parts import (
    NOT_FOUND,
    PREFIX,
    WRITE,
    WRITE_ERRORS,
    closed,
    created,
    list_of,
    nullable,
    ok,
    operation,
    path_id,
    problem,
    query,
    ref,
    time_schema,
)
from portal.api.validation import object_schema
from portal.emandates.models import BankOutcome, BankRequestKind
from portal.events.catalog import EVENT_TYPES
from portal.mandates.models import (
    InvitationChannel,
    InvitationPurpose,
    MandateStatus,
    Scheme,
    SequenceType,
    SigningMethod,
)

SCOPE_DESCRIPTIONS = {
    "mandates:read": "Read invitations, mandates and mandate PDFs.",
    "mandates:write": "Create and withdraw invitations; revoke mandates.",
    "payments:read": "Read payment requests, their payments and refunds; debits, batches and "
                     "imported bank reports.",
    "payments:write": "Create and withdraw payment requests, enter external payments, refund; "
                      "schedule and cancel debits, export batches, import bank reports.",
    "events:read": "Read the event feed.",
    "billing:read": "Read invoices, plans and subscriptions.",
    "billing:write": "Create invoices (with their collection), enter payments on them, void "
                     "them; create plans; start, pause, resume, stop and change "
                     "subscriptions.",
}
#: The conventions every endpoint follows: (title, text); shown in the description and the docs.
CONVENTIONS: tuple[tuple[str, str], ...] = (
    ("Authentication", (
        "OAuth2 client credentials. Exchange your client id and secret (HTTP Basic, or "
        "`client_id` and `client_secret` form fields) at `POST /api/v1/oauth/token` for a bearer "
        "token, and send it as `Authorization: Bearer <token>`. Tokens expire (see `expires_in`); "
        "ask for a new one. Request fewer scopes with `scope`. A missing, unknown, expired or "
        "revoked token gives 401; a token without the needed scope gives 403 "
        "`insufficient_scope`.")),
    ("Identifiers", (
        "Every object has an opaque id with a type prefix: `inv_` invitations, `md_` mandates, "
        "`cus_` customers, `evt_` events, `preq_` payment requests, `ptx_` payments, `rfd_` "
        "refunds, `cbk_` chargebacks, `pmd_` stored card tokens and provider mandates, `dbt_` "
        "debits, `bat_` batches, `rti_` imported bank reports. Never parse them. A `POST` that "
        "creates an object answers 201 with its URL in `Location`.")),
    ("Your data only", (
        "Every request sees only the objects of the merchant the token belongs to. Another "
        "merchant's object answers 404, exactly like one that does not exist.")),
    ("Pagination", (
        "Lists return `{\"object\": \"list\", \"data\": [...], \"has_more\": bool, "
        "\"next_cursor\": ...}`. Ask for `limit` 1 to 100 (default 20) and continue with "
        "`starting_after=<last id>` or `cursor=<next_cursor>`. Mandates and payment requests "
        "come newest first; "
        "events oldest first (`after=<evt_id>` continues the feed).")),
    ("Times and money", (
        "Times are ISO 8601 in UTC with a `Z` (`2030-01-31T12:00:00Z`). Amounts are integers in "
        "euro cents.")),
    ("Errors", (
        "Every error is RFC 9457 `application/problem+json` with `type`, `title`, `status`, "
        "`detail`, and for invalid input `errors: [{field, message}]`. JSON bodies are checked "
        "strictly: malformed JSON is 400, a content type other than JSON 415, unknown fields, "
        "wrong types and invalid values 422. The `type` ends in one of: `validation-error`, "
        "`malformed-json`, `unsupported-media-type`, `not-found`, `invalid-state`, `conflict`, "
        "`pdf-pending`, `pdf-not-applicable`, `sms-not-configured`, `bank-not-configured`, "
        "`scheme-not-offered`, `refund-refused`, `debit-refused`, `export-refused`, "
        "`unreadable-report`, `unknown-debits`, `too-large`, `file-missing`, "
        "`idempotency-key-reused`, "
        "`idempotency-key-in-progress`, `missing_token`, `invalid_token`, `insufficient_scope`; "
        "the token and revocation endpoints answer `application/json` (RFC 6749 §5.2) with the "
        "OAuth2 `error` code (`invalid_client`, `invalid_scope`, …) beside the same fields.")),
    ("Idempotency", (
        "Send `Idempotency-Key: <unique string>` with any POST to make retries safe. The same "
        "key with the same body replays the first response (with `Idempotent-Replayed: true`); "
        "with a different body it is 422 `idempotency-key-reused`; while the first request is "
        "still running, 409 `idempotency-key-in-progress`. Keys are kept for 24 hours, then may "
        "be reused.")),
)


def _schemas(config: Any) -> dict[str, Any]:
    return {
        "Problem": {
            "type": "object", "description": "RFC 9457 problem details.",
            "required": ["type", "title", "status"],
            "properties": {
                "type": {"type": "string", "description": "URI naming the kind of problem."},
                "title": {"type": "string"}, "status": {"type": "integer"},
                "detail": {"type": "string"}, "instance": {"type": "string"},
                "errors": {"type": "array", "items": ref("FieldError")},
                "error": {"type": "string", "description": "OAuth2 error code (token endpoint)."},
                "error_description": {"type": "string"},
            },
        },
        "FieldError": closed({"field": {"type": "string", "description": "Dotted path."},
                               "message": {"type": "string"}}),
        "Token": closed({
            "access_token": {"type": "string"}, "token_type": {"const": "Bearer"},
            "expires_in": {"type": "integer", "description": "Seconds until it expires."},
            "scope": {"type": "string", "description": "Space-separated granted scopes."},
        }),
        "Customer": closed({
            "id": {"type": "string", "examples": ["cus_2bT9xQ"]}, "name": {"type": "string"},
            "email": nullable("string"), "external_reference": nullable("string"),
        }),
        "Invitation": closed({
            "id": {"type": "string", "examples": ["inv_8aK2pL"]}, "object": {"const": "invitation"},
            "status": {"enum": ["pending", "opened", "used", "expired", "withdrawn", "closed"],
                       "description": "`used`: the mandate was signed and verified; `closed`: "
                                      "the mandate ended otherwise."},
            "mandate": {"type": "string", "description": "Id of the mandate to be signed."},
            "customer": ref("Customer"),
            "purpose": {"enum": [p.value for p in InvitationPurpose], "description": (
                "`sign` a new mandate; `amend` (move an active mandate to another account) or "
                "`cancel` (end an active B2B mandate), both at the debtor's bank.")},
            "signing_methods": {"type": "array", "items": {
                "enum": [m.value for m in SigningMethod]}, "description": (
                "How the customer may sign, in the order offered on the page.")},
            "send_via": {"enum": [c.value for c in InvitationChannel]},
            "signing_url": {"type": "string", "format": "uri"},
            "qr_png_url": {"type": "string", "format": "uri"},
            "qr_svg_url": {"type": "string", "format": "uri"},
            "short_url": nullable("string", format="uri", description=(
                "Short form of the signing link (`/s/<code>`), as sent by SMS; fits QR codes "
                "and print.")),
            "delivery_status": {"enum": ["queued", "sent", "failed", "not_sent_signed",
                                         "not_sent_closed", None], "description": (
                "The message we send (`send_via` email or sms): `failed` after a permanent "
                "refusal (unknown mailbox, bounce, invalid number) or when retries ran out; "
                "`not_sent_signed` when the customer signed before it went out, "
                "`not_sent_closed` when the invitation was withdrawn or expired first (both "
                "with an `invitation.not_sent` event); `null` with `send_via: none`.")},
            "delivery_error": nullable("string", description=(
                "Why the message failed, or the last temporary error while it is retried.")),
            "sent_at": time_schema(True, "When the message was handed to the mail server or SMS "
                                   "gateway."),
            "reminder_days": {"type": "array", "items": {"type": "integer"}, "description": (
                "Days after sending when an unsigned customer is reminded (your merchant "
                "setting); empty with `send_via: none`.")},
            "unsubscribed_at": time_schema(True, "When the customer asked for no more reminders."),
            "expires_at": time_schema(), "opened_at": time_schema(True),
            "withdrawn_at": time_schema(True),
            "return_url": nullable("string", format="uri", description=(
                "Where the confirmation page sends the customer back to.")),
            "created_at": time_schema(),
        }),
        "MandatePdf": closed({
            "status": {"enum": ["pending", "ready", "not_applicable"]},
            "url": nullable("string", format="uri"), "sha256": nullable("string"),
        }, "The sealed PDF: pending between activation and its production."),
        "BankOutcome": closed({
            "transaction": {"type": "string", "examples": ["btx_7dP2kR"]},
            "kind": {"enum": [k.value for k in BankRequestKind],
                     "description": "`new` (pain.009), `amend` (pain.010), `cancel` (pain.011)."},
            "status": {"enum": [o.value for o in BankOutcome], "description": (
                "`open` (the debtor is at their bank), `pending` (the bank is still "
                "processing), `accepted` (the bank's signed report matched: the mandate "
                "changed), `not_authorised` (the signer may not sign for the company), "
                "`rejected`, `cancelled` (by the debtor), `expired`, `failed`, `error` (the "
                "acquirer refused to start), `refused` (the bank's report was not "
                "trustworthy or not about this mandate: nothing changed).")},
            "reason": nullable("string"),
            "debtor_bank": {"type": "string", "description": "BIC of the debtor's bank."},
            "validation_reference": nullable("string"),
            "created_at": time_schema(), "updated_at": time_schema(),
        }, "The latest transaction at the debtor's bank (eMandates)."),
        "Mandate": closed({
            "id": {"type": "string", "examples": ["md_5rT7wQ"]}, "object": {"const": "mandate"},
            "status": {"enum": [s.value for s in MandateStatus]},
            "scheme": {"enum": [s.value for s in Scheme]},
            "sequence_type": {"enum": [s.value for s in SequenceType]},
            "reference": {"type": "string", "description": "Unique mandate reference (UMR)."},
            "customer": ref("Customer"), "debtor_name": nullable("string"),
            "iban_masked": nullable("string", examples=["NL91 **** **** **43 00"]),
            "bic": nullable("string"),
            "signed_at": time_schema(True), "signing_method": {"enum": [
                "payment_verification", "bank_emandate", None]},
            "signer_name": nullable("string", description=(
                "Signed at the bank: who signed (for a company, the authorised person).")),
            "validation_reference": nullable("string", description=(
                "Signed at the bank: the bank's reference of the signing, which collections "
                "may need to carry (where depends on your bank).")),
            "max_amount_cents": nullable("integer", description=(
                "B2B: the most one collection may take, as registered at the bank.")),
            "reason": nullable("string"),
            "bank_outcome": {"anyOf": [ref("BankOutcome"), {"type": "null"}]},
            "created_at": time_schema(), "pdf": ref("MandatePdf"),
        }),
        "Event": closed({
            "id": {"type": "string", "examples": ["evt_3hJ8sD"]}, "object": {"const": "event"},
            "type": {"type": "string", "examples": ["mandate.active"]},
            "created_at": time_schema(),
            "data": {"type": "object", "description": "What happened (ids, statuses)."},
        }),
        "Payment": closed({
            "id": {"type": "string", "examples": ["ptx_4Hk2pQ"]}, "object": {"const": "payment"},
            "status": {"enum": ["open", "pending", "paid", "failed", "canceled", "expired"]},
            "source": {"enum": ["provider", "external"]},
            "method": nullable("string", examples=["ideal"]),
            "sequence": {"enum": ["oneoff", "first", "recurring"], "description": (
                "`first` also set up future payments; `recurring` was charged on a stored "
                "card token or mandate without the customer.")},
            "amount": {"type": "integer"}, "refunded_amount": {"type": "integer"},
            "charged_back_amount": {"type": "integer"},
            "payer_name": nullable("string"), "payer_iban_masked": nullable("string"),
            "failure_reason": nullable("string"),
            "late": {"type": "boolean", "description": "Arrived after expiry or withdrawal."},
            "double_payment": {"type": "boolean",
                               "description": "Arrived when the request was paid already."},
            "sets_up": {"enum": ["sepa_mandate", "card_mandate", None]},
            "mandate": nullable("string", description="The Core mandate it signed (`md_`)."),
            "stored_mandate": nullable("string", description=(
                "The card token or provider mandate it left or charged (`pmd_`).")),
            "reference": nullable("string", description="External payments: your reference."),
            "paid_at": time_schema(True), "created_at": time_schema(),
        }),
        "Refund": closed({
            "id": {"type": "string", "examples": ["rfd_7Yt3sW"]}, "object": {"const": "refund"},
            "status": {"enum": ["pending", "succeeded", "failed"]},
            "amount": {"type": "integer"}, "payment": nullable("string"),
            "payment_request": nullable("string"), "description": {"type": "string"},
            "automatic": {"type": "boolean", "description": "The one-cent check's refund."},
            "failure_reason": nullable("string"), "created_at": time_schema(),
            "updated_at": time_schema(),
        }),
        "PaymentRequest": closed({
            "id": {"type": "string", "examples": ["preq_9Pq4rS"]},
            "object": {"const": "payment_request"},
            "status": {"enum": list(REQUEST_STATUSES)},
            "amount": {"type": "integer"}, "currency": {"const": "EUR"},
            "open_amount": {"type": "integer", "description": "What is still owed."},
            "paid_amount": {"type": "integer",
                            "description": "What arrived, less chargebacks."},
            "refunded_amount": {"type": "integer"}, "charged_back_amount": {"type": "integer"},
            "overpaid_amount": {"type": "integer"},
            "description": {"type": "string"}, "invoice_number": nullable("string"),
            "external_reference": nullable("string"), "customer": ref("Customer"),
            "due_date": nullable("string", format="date"), "expires_at": time_schema(),
            "checkout_url": {"type": "string", "format": "uri"},
            "short_url": nullable("string", format="uri"),
            "qr_png_url": {"type": "string", "format": "uri"},
            "qr_svg_url": {"type": "string", "format": "uri"},
            "methods": {"type": ["array", "null"], "items": {"type": "string"}},
            "allow_partial": {"type": "boolean"}, "offer_mandate": {"type": "boolean"},
            "collect": {"enum": ["automatic", "link"]},
            "return_url": nullable("string", format="uri"),
            "send_via": {"enum": ["email", "sms", "none"]},
            "payments": {"type": "array", "items": ref("Payment")},
            "refunds": {"type": "array", "items": ref("Refund")},
            "created_at": time_schema(), "paid_at": time_schema(True),
            "expired_at": time_schema(True),
            "withdrawn_at": time_schema(True),
        }),
        "PaymentRequestList": list_of("PaymentRequest"),
        "CreatePaymentRequest": {
            "type": "object", **object_schema(PAYMENT_REQUEST_FIELDS, config),
            "not": {"required": ["expires_at", "expires_in_days"]},
        },
        "WithdrawPaymentRequest": {"type": "object", **object_schema(WITHDRAW_FIELDS, config)},
        "CreateExternalPayment": {"type": "object",
                                  **object_schema(EXTERNAL_PAYMENT_FIELDS, config)},
        "CreateRefund": {"type": "object", **object_schema(REFUND_FIELDS, config)},
        "WebhookEvent": closed({
            "id": {"type": "string", "description": "The event's id, also `webhook-id`."},
            "type": {"enum": list(EVENT_TYPES)},
            "created_at": time_schema(description="With milliseconds, e.g. "
                                            "`2030-01-31T12:00:00.000Z`."),
            "data": {"type": "object"},
        }, "The body of a webhook delivery: the event, signed."),
        "MandateList": list_of("Mandate"),
        "EventList": list_of("Event"),
        "CreateInvitation": {
            "type": "object", **object_schema(CREATE_FIELDS, config),
            "not": {"required": ["expires_at", "expires_in_days"]},
        },
        "RevokeMandate": {"type": "object", **object_schema(REVOKE_FIELDS, config)},
        "ChangeMandate": {"type": "object", **object_schema(CHANGE_FIELDS, config)},
        "Empty": {"type": "object", "additionalProperties": False},
        **collection_schemas(config),
        **billing_schemas(config),
    }


def _oauth_error(description: str) -> dict[str, Any]:
    """RFC 6749 §5.2: token and revocation errors are ``application/json``."""
    return {"description": description,
            "content": {"application/json": {"schema": ref("Problem")}}}


def _paths(config: Any) -> dict[str, Any]:
    invitation_id = path_id("invitation_id", "inv")
    mandate_id = path_id("mandate_id", "md")
    event_id = path_id("event_id", "evt")
    token_form = {"type": "object", "required": ["grant_type"], "properties": {
        "grant_type": {"const": "client_credentials"},
        "scope": {"type": "string", "description": "Space-separated subset of the client's "
                  "scopes (default: all of them)."},
        "client_id": {"type": "string", "description": "With `client_secret_post` only."},
        "client_secret": {"type": "string", "description": "With `client_secret_post` only."}}}
    return {
        f"{PREFIX}/oauth/token": {"post": {
            "operationId": "issueToken", "summary": "Get an access token", "tags": ["Auth"],
            "description": "Client credentials grant. Authenticate with HTTP Basic "
                           "(`client_id:client_secret`) or the form fields.",
            "security": [{"clientBasic": []}, {}],
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": token_form, "example": {
                    "grant_type": "client_credentials", "scope": "mandates:read"}}}},
            "responses": {"200": ok("Token", "A bearer token."),
                          "400": _oauth_error("Invalid request, grant type or scope."),
                          "401": _oauth_error("Client authentication failed: one answer for an "
                                              "unknown client, a wrong secret and a revoked "
                                              "client.")},
        }},
        f"{PREFIX}/oauth/revoke": {"post": {
            "operationId": "revokeToken", "summary": "Revoke an access token", "tags": ["Auth"],
            "description": "RFC 7009. Authenticate as the client that holds the token.",
            "security": [{"clientBasic": []}, {}],
            "requestBody": {"required": True, "content": {
                "application/x-www-form-urlencoded": {"schema": {
                    "type": "object", "required": ["token"],
                    "properties": {"token": {"type": "string"},
                                   "token_type_hint": {"const": "access_token"}}}}}},
            "responses": {"200": {"description": "Revoked (or already unknown).",
                                  "content": {"application/json": {"schema": ref("Empty")}}},
                          "400": _oauth_error("Invalid request."),
                          "401": _oauth_error("Client authentication failed.")},
        }},
        f"{PREFIX}/invitations": {"post": operation(
            "Invite a customer to sign a mandate", "Invitations", "mandates:write",
            {"201": created("Invitation", "The invitation, with its signing link and QR codes; "
                             "`Location` is its URL."), **WRITE_ERRORS},
            description="Creates the customer, a mandate in `invited` and a signing link. "
                        "With `send_via: email` the link is emailed to the customer in their "
                        "language, with `sms` its short link is texted; an `invitation.sent` "
                        "event follows once the message is handed over, or "
                        "`invitation.delivery_failed` if it is refused. Unsigned customers "
                        "are reminded on your schedule (`reminder_days`); unsigned invitations "
                        "expire at `expires_at` (`invitation.expired`, `mandate.expired`). "
                        "`send_via: sms` answers 422 `sms-not-configured` where this portal "
                        "does not send text messages; `scheme: B2B` is signed at the debtor's "
                        "bank (`bank_emandate`): with `payment_verification` it answers 422 "
                        "`validation-error`, and where this portal has no bank signing 422 "
                        "`scheme-not-offered`; nothing is created then.",
            parameters=WRITE, body="CreateInvitation", operation_id="createInvitation",
            example={"customer": {"name": "Sam de Vries", "email": "sam@example.org",
                                  "locale": "nl"},
                     "external_reference": "CUST-0042", "send_via": "email",
                     "expires_in_days": 14})},
        f"{PREFIX}/invitations/{{invitation_id}}": {"get": operation(
            "Get an invitation", "Invitations", "mandates:read",
            {"200": ok("Invitation", "The invitation."), **NOT_FOUND},
            parameters=[invitation_id], operation_id="getInvitation")},
        f"{PREFIX}/invitations/{{invitation_id}}/withdraw": {"post": operation(
            "Withdraw an invitation", "Invitations", "mandates:write",
            {"200": ok("Invitation", "The withdrawn invitation.", True), **NOT_FOUND,
             **WRITE_ERRORS},
            description="The link stops working and the mandate is cancelled. 409 "
                        "`invalid-state` once the mandate is active or already closed.",
            parameters=[invitation_id, *WRITE], body="Empty",
            operation_id="withdrawInvitation")},
        f"{PREFIX}/mandates": {"get": operation(
            "List mandates", "Mandates", "mandates:read",
            {"200": ok("MandateList", "A page of mandates, newest first."),
             "422": problem("Invalid query parameters.")},
            parameters=query(LIST_PARAMS, config), operation_id="listMandates")},
        f"{PREFIX}/mandates/{{mandate_id}}": {"get": operation(
            "Get a mandate", "Mandates", "mandates:read",
            {"200": ok("Mandate", "The mandate."), **NOT_FOUND},
            parameters=[mandate_id], operation_id="getMandate")},
        f"{PREFIX}/mandates/{{mandate_id}}/pdf": {"get": operation(
            "Download the signed mandate PDF", "Mandates", "mandates:read",
            {"200": {"description": "The sealed PDF (PAdES).", "content": {
                "application/pdf": {"schema": {"type": "string",
                                               "contentMediaType": "application/pdf"}}}},
             **NOT_FOUND,
             "409": problem("`pdf-pending` (retry after `Retry-After` seconds) or "
                             "`pdf-not-applicable` (never signed).")},
            parameters=[mandate_id], operation_id="getMandatePdf")},
        f"{PREFIX}/mandates/{{mandate_id}}/revoke": {"post": operation(
            "Revoke a mandate", "Mandates", "mandates:write",
            {"200": ok("Mandate", "The revoked mandate.", True), **NOT_FOUND, **WRITE_ERRORS},
            description="Ends an active mandate: no further collections. 409 `invalid-state` "
                        "if the mandate is not active.",
            parameters=[mandate_id, *WRITE], body="RevokeMandate", operation_id="revokeMandate",
            example={"reason": "Customer ended the contract"})},
        f"{PREFIX}/mandates/{{mandate_id}}/amendments": {"post": operation(
            "Let the debtor move a mandate to another account", "Mandates", "mandates:write",
            {"201": ok("Invitation", "A link (`purpose: amend`) to send the debtor.", True),
             **NOT_FOUND, **WRITE_ERRORS},
            description="The debtor chooses their (new) bank and signs the amendment there "
                        "(pain.010); on the bank's accepted report the mandate takes the new "
                        "account (`mandate.amended`). 409 `invalid-state` unless active; 422 "
                        "`bank-not-configured` without bank signing.",
            parameters=[mandate_id, *WRITE], body="ChangeMandate",
            operation_id="amendMandate")},
        f"{PREFIX}/mandates/{{mandate_id}}/cancellations": {"post": operation(
            "Let the debtor end a B2B mandate at their bank", "Mandates", "mandates:write",
            {"201": ok("Invitation", "A link (`purpose: cancel`) to send the debtor.", True),
             **NOT_FOUND, **WRITE_ERRORS},
            description="The debtor confirms at their bank (pain.011); on the bank's accepted "
                        "report the mandate is revoked (`mandate.revoked`). B2B only: 409 "
                        "`invalid-state` for Core or inactive mandates.",
            parameters=[mandate_id, *WRITE], body="ChangeMandate",
            operation_id="cancelMandateAtBank")},
        **_payment_paths(config),
        f"{PREFIX}/events": {"get": operation(
            "List events (the feed)", "Events", "events:read",
            {"200": ok("EventList", "Events oldest first; `next_cursor` is always where to "
                        "continue polling from."),
             "422": problem("Invalid query parameters.")},
            description="Poll with `after=<id of the last event you processed>`. Types: "
                        + ", ".join(f"`{t}`" for t in EVENT_TYPES)
                        + ". The same events go to your webhook endpoint (see Webhooks).",
            parameters=query(FEED_PARAMS, config), operation_id="listEvents")},
        f"{PREFIX}/events/{{event_id}}": {"get": operation(
            "Get an event", "Events", "events:read",
            {"200": ok("Event", "The event."), **NOT_FOUND},
            parameters=[event_id], operation_id="getEvent")},
        **collection_paths(config),
        **billing_paths(config),
    }


def _payment_paths(config: Any) -> dict[str, Any]:
    request_id = path_id("request_id", "preq")
    payment_id = path_id("payment_id", "ptx")
    refund_id = path_id("refund_id", "rfd")
    tag = "Payment requests"
    return {
        f"{PREFIX}/payment-requests": {
            "post": operation(
                "Ask a customer to pay", tag, "payments:write",
                {"201": created("PaymentRequest", "The request, with its checkout link, short "
                                 "link and QR codes."), **WRITE_ERRORS},
                description="Creates the request (and the customer, unless you give "
                            "`customer_id`) and its hosted checkout page: in your branding and "
                            "the customer's language, by link, short link or QR code. With "
                            "`send_via: email` or `sms` the link goes out now and reminders "
                            "follow around `due_date` until it is paid, withdrawn or expired. "
                            "A customer with a valid stored card token or direct-debit mandate "
                            "is charged at once (`collect: automatic`), and gets the link if "
                            "the charge is refused. Events: `payment_request.created`, then "
                            "`.paid`, `.partly_paid`, `.overpaid`, `.failed`, `.expired`, "
                            "`.reminder_sent`.",
                parameters=WRITE, body="CreatePaymentRequest",
                operation_id="createPaymentRequest",
                example={"amount": 4250, "description": "Membership 2030",
                         "invoice_number": "2030-0042", "due_date": "2030-03-31",
                         "customer": {"name": "Sam de Vries", "email": "sam@example.org",
                                      "locale": "nl"},
                         "send_via": "email", "return_url": "https://shop.example/thanks"}),
            "get": operation(
                "List payment requests", tag, "payments:read",
                {"200": ok("PaymentRequestList", "A page of requests, newest first."),
                 "422": problem("Invalid query parameters.")},
                parameters=query(REQUEST_LIST_PARAMS, config), operation_id="listPaymentRequests")},
        f"{PREFIX}/payment-requests/{{request_id}}": {"get": operation(
            "Get a payment request", tag, "payments:read",
            {"200": ok("PaymentRequest", "The request, its payments and refunds."),
             **NOT_FOUND}, parameters=[request_id], operation_id="getPaymentRequest")},
        f"{PREFIX}/payment-requests/{{request_id}}/withdraw": {"post": operation(
            "Withdraw a payment request", tag, "payments:write",
            {"200": ok("PaymentRequest", "The withdrawn request.", True), **NOT_FOUND,
             **WRITE_ERRORS},
            description="The link stops taking payments and reminders stop "
                        "(`payment_request.withdrawn`). 409 `invalid-state` once it is paid or "
                        "closed. A payment arriving later is recorded as late and refundable.",
            parameters=[request_id, *WRITE], body="WithdrawPaymentRequest",
            operation_id="withdrawPaymentRequest")},
        f"{PREFIX}/payment-requests/{{request_id}}/payments": {"post": operation(
            "Enter a payment made outside the portal", tag, "payments:write",
            {"201": created("Payment", "The payment; the request's open amount is reduced."),
             **NOT_FOUND, **WRITE_ERRORS},
            description="`source: external` (bank transfer, cash). It counts like any other "
                        "payment: `payment_request.partly_paid`, `.paid` or `.overpaid` "
                        "follows.",
            parameters=[request_id, *WRITE], body="CreateExternalPayment",
            operation_id="createExternalPayment",
            example={"amount": 2000, "source": "external", "method": "banktransfer",
                     "reference": "Statement 2030-03-05 line 12"})},
        f"{PREFIX}/payment-requests/{{request_id}}/payments/{{payment_id}}": {"get": operation(
            "Get a payment", tag, "payments:read",
            {"200": ok("Payment", "The payment."), **NOT_FOUND},
            parameters=[request_id, payment_id], operation_id="getPayment")},
        f"{PREFIX}/payment-requests/{{request_id}}/refunds": {"post": operation(
            "Refund what was paid", tag, "payments:write",
            {"201": created("Refund", "The refund, `pending` until the provider has made "
                             "it."), **NOT_FOUND, **WRITE_ERRORS},
            description="Full (no `amount`) or partial, through the provider; an external "
                        "payment's refund is recorded as made. More than is still refundable "
                        "is 422 `refund-refused`. Events: `refund.created`, then "
                        "`refund.succeeded` or `refund.failed`.",
            parameters=[request_id, *WRITE], body="CreateRefund", operation_id="createRefund",
            example={"amount": 1000, "description": "Discount"})},
        f"{PREFIX}/refunds/{{refund_id}}": {"get": operation(
            "Get a refund", tag, "payments:read", {"200": ok("Refund", "The refund."),
                                                   **NOT_FOUND},
            parameters=[refund_id], operation_id="getRefund")},
    }


def _webhooks() -> dict[str, Any]:
    """OpenAPI 3.1 ``webhooks``: what the portal POSTs to your endpoint, one per event type."""
    headers = {name: {"required": True, "description": text, "schema": {"type": "string"}}
               for name, text in WEBHOOK_HEADERS}
    return {event_type: {"post": {
        "operationId": "event_" + event_type.replace(".", "_"),
        "summary": event_type, "description": f"{when} `data`: {fields}.",
        "parameters": [{"name": name, "in": "header", **spec} for name, spec in headers.items()],
        "requestBody": {"required": True, "content": {"application/json": {
            "schema": ref("WebhookEvent")}}},
        "responses": {"200": {"description": "Any 2xx: received. Anything else, or no answer "
                              "in 15 s, is retried."}}}}
        for event_type, (when, fields) in EVENT_TYPES.items()}


#: The Standard Webhooks headers every delivery carries.
WEBHOOK_HEADERS = (
    ("webhook-id", ("The event's id (`evt_…`): the same on every retry and replay; deduplicate "
                   "on it.")),
    ("webhook-timestamp", ("Unix seconds when this attempt was signed; refuse ones more than "
                          "5 minutes off.")),
    ("webhook-signature", ("`v1,<base64 HMAC-SHA256>` of `<id>.<timestamp>.<body>` with your "
                          "`whsec_` secret (base64 after the prefix); during a rotation, one "
                          "signature per secret, space-separated.")),
)
#: How deliveries work, for the docs page: (title, text).
WEBHOOK_CONVENTIONS: tuple[tuple[str, str], ...] = (
    ("Endpoint and secret", ("`flask --app portal webhooks configure --merchant mer_… --url "
     "https://…` registers your endpoint and prints its signing secret (`whsec_…`) once; "
     "`rotate-secret` makes a new one, both sign for 24 hours.")),
    ("What arrives", ("One `POST` per event, `Content-Type: application/json`, the body the "
     "same `Event` object as in the feed (`id`, `type`, `created_at`, `data`), signed per "
     "Standard Webhooks. Verify the signature over the raw body before trusting it; any "
     "Standard Webhooks library does.")),
    ("Retries", ("Anything but a 2xx within 15 seconds is retried, with growing delays, for "
     "about three days; an endpoint that accepts nothing for 72 hours is disabled (you are "
     "emailed) and `webhooks enable` resumes it, sending what waited. Deliveries may arrive "
     "more than once and out of order: use `webhook-id` and `created_at`, or poll the feed.")),
    ("Replays", ("`webhooks replay --event evt_…` sends one again; `replay-failed` all that "
     "failed; `attempts` lists recent attempts.")),
)


def description() -> str:
    return "The mandate portal's merchant API.\n\n" + "\n\n".join(
        f"**{title}.** {text}" for title, text in CONVENTIONS)


def build_spec(config: Any) -> dict[str, Any]:
    """The whole document for this installation (its base URL, locales and token lifetime)."""
    return {
        "openapi": "3.1.0",
        "info": {"title": "Mandate portal API", "version": "1.0.0",
                 "description": description(),
                 "license": {"name": "AGPL-3.0-or-later",
                             "identifier": "AGPL-3.0-or-later"}},
        "servers": [{"url": config["PUBLIC_BASE_URL"]}],
        "tags": [{"name": "Auth", "description": "Access tokens."},
                 {"name": "Invitations", "description": "Links asking a customer to sign."},
                 {"name": "Mandates", "description": "Signed (or pending) SEPA mandates."},
                 {"name": "Payment requests", "description": "What customers owe, the "
                  "checkout, payments, refunds."},
                 {"name": "Events", "description": "What happened, as a pollable feed."},
                 *COLLECTION_TAGS, *BILLING_TAGS],
        "paths": _paths(config),
        "webhooks": _webhooks(),
        "components": {
            "schemas": _schemas(config),
            "securitySchemes": {
                "oauth2": {"type": "oauth2", "description": "Client credentials.", "flows": {
                    "clientCredentials": {"tokenUrl": f"{PREFIX}/oauth/token",
                                          "scopes": {s: SCOPE_DESCRIPTIONS[s] for s in SCOPES}}}},
                "clientBasic": {"type": "http", "scheme": "basic",
                                "description": "`client_id:client_secret` at the token "
                                               "endpoint."},
            },
        },
    }
