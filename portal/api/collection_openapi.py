"""The collections part of the OpenAPI document: debits, batches, returns, and their events."""

from __future__ import annotations

from typing import Any

from portal.api.collection_inputs import CANCEL_FIELDS, DEBIT_FIELDS, DEBIT_LIST_PARAMS
from portal.api.openapi_parts import (
    NOT_FOUND,
    PREFIX,
    WRITE,
    WRITE_ERRORS,
    closed,
    date_schema,
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
from portal.api.pagination import PAGE_PARAMS
from portal.api.validation import object_schema
from portal.collections.models import DebitStatus, PainVersion, ReturnFormat, Route, SeqType
from portal.collections.returns import OUTCOMES
from portal.collections.service import REFUSALS

TAGS = [{"name": "Debits", "description": "Collections on active mandates: planned, retried, "
                                          "settled."},
        {"name": "Batches", "description": "pain.008 files for your bank."},
        {"name": "Returns", "description": "Your bank's reports: pain.002, camt.054, CSV."}]


def schemas(config: Any) -> dict[str, Any]:
    return {
        "Debit": closed({
            "id": {"type": "string", "examples": ["dbt_7pQ2mX"]}, "object": {"const": "debit"},
            "status": {"enum": [s.value for s in DebitStatus]},
            "mandate": {"type": "string"}, "customer": {"type": "string"},
            "amount": {"type": "integer", "description": "Cents still to collect."},
            "original_amount": {"type": "integer", "description": "Cents first asked for."},
            "currency": {"const": "EUR"}, "description": {"type": "string"},
            "invoice_number": nullable("string"), "payment_request": nullable("string"),
            "route": {"enum": [r.value for r in Route]}, "scheme": {"enum": ["CORE", "B2B"]},
            "sequence_type": {"enum": [s.value for s in SeqType]},
            "collection_date": date_schema(), "requested_date": date_schema(True),
            "final": {"type": "boolean"}, "attempt": {"type": "integer"},
            "max_attempts": {"type": "integer"},
            "end_to_end_id": nullable("string", description="Of the current attempt, once "
                                                             "submitted."),
            "batch": nullable("string"),
            "provider_payment": nullable("string", description="Provider route: the current "
                                                                "attempt's payment at the "
                                                                "provider (Mollie tr_…)."),
            "reason_code": nullable("string", examples=["AM04"]),
            "reason": nullable("string"), "will_retry": {"type": "boolean"},
            "pay_link": nullable("string", description="After the last failure: where the "
                                                        "customer pays the open amount."),
            "prenotified_at": time_schema(True), "created_at": time_schema(),
            "updated_at": time_schema(),
        }),
        "PaymentGroup": closed({
            "id": {"type": "string", "description": "PmtInfId."},
            "sequence_type": {"enum": [s.value for s in SeqType]},
            "collection_date": date_schema(), "count": {"type": "integer"},
            "sum": {"type": "integer", "description": "Cents."}}),
        "BatchFile": closed({"url": {"type": "string", "format": "uri"},
                              "sha256": {"type": "string"}, "size": {"type": "integer"}}),
        "Batch": closed({
            "id": {"type": "string", "examples": ["bat_3kR8sW"]}, "object": {"const": "batch"},
            "message_id": {"type": "string"},
            "pain_version": {"enum": [v.value for v in PainVersion]},
            "scheme": {"enum": ["CORE", "B2B"]}, "creditor_iban": {"type": "string"},
            "transaction_count": {"type": "integer"},
            "control_sum": {"type": "integer", "description": "Cents."},
            "payment_groups": {"type": "array", "items": ref("PaymentGroup")},
            "file": ref("BatchFile"), "delivered_to": {"enum": ["manual", "sandbox"]},
            "created_at": time_schema()}),
        "ReturnsImport": closed({
            "id": {"type": "string", "examples": ["rti_9tB4vN"]},
            "object": {"const": "returns_import"},
            "format": {"enum": [f.value for f in ReturnFormat]},
            "message_id": nullable("string"),
            "source": {"type": "string", "examples": ["api", "cli", "sandbox-bank"]},
            "counts": {"type": "object", "description": "Lines by effect.",
                       "properties": {name: {"type": "integer"} for name in OUTCOMES},
                       "additionalProperties": {"type": "integer"}},
            "sha256": {"type": "string"}, "size": {"type": "integer"},
            "created_at": time_schema()}),
        "DebitList": list_of("Debit"),
        "BatchList": list_of("Batch"),
        "ReturnsImportList": list_of("ReturnsImport"),
        "CreateDebit": {"type": "object", **object_schema(DEBIT_FIELDS, config)},
        "CancelDebit": {"type": "object", **object_schema(CANCEL_FIELDS, config)},
    }


def paths(config: Any) -> dict[str, Any]:
    """The collections paths."""
    debit_id, batch_id = path_id("debit_id", "dbt"), path_id("batch_id", "bat")
    import_id = path_id("import_id", "rti")
    refusals = "; ".join(f"`{code}`" for code in REFUSALS)
    return {
        f"{PREFIX}/debits": {
            "post": operation(
                "Schedule a debit", "Debits", "payments:write",
                {"201": ok("Debit", "The scheduled debit.", True), **WRITE_ERRORS},
                description="Collects `amount` from an active mandate on the earliest valid "
                            "date: a TARGET2 business day, D-1 submission, your lead time and "
                            "the debtor's pre-notification (14 days unless agreed), not before "
                            "`collection_date`. The sequence type follows the mandate's "
                            "history. The debtor is emailed the amount, date and mandate "
                            "reference. A refusal is 422 `debit-refused`; the error message "
                            f"starts with its code: {refusals}.",
                parameters=WRITE, body="CreateDebit", operation_id="createDebit",
                example={"mandate": "md_5rT7wQ", "amount": 2500,
                         "description": "Membership April", "invoice_number": "2026-0042"}),
            "get": operation(
                "List debits", "Debits", "payments:read",
                {"200": ok("DebitList", "A page of debits, newest first."),
                 "422": problem("Invalid query parameters.")},
                parameters=query(DEBIT_LIST_PARAMS, config), operation_id="listDebits")},
        f"{PREFIX}/debits/{{debit_id}}": {"get": operation(
            "Get a debit", "Debits", "payments:read",
            {"200": ok("Debit", "The debit."), **NOT_FOUND},
            parameters=[debit_id], operation_id="getDebit")},
        f"{PREFIX}/debits/{{debit_id}}/cancel": {"post": operation(
            "Cancel a debit", "Debits", "payments:write",
            {"200": ok("Debit", "The cancelled debit.", True), **NOT_FOUND, **WRITE_ERRORS},
            description="Only a scheduled debit (not yet submitted); else 409 `invalid-state`.",
            parameters=[debit_id, *WRITE], body="CancelDebit", operation_id="cancelDebit")},
        f"{PREFIX}/batches": {
            "post": operation(
                "Export due debits", "Batches", "payments:write",
                {"201": ok("BatchList", "The new batches (one per scheme)."),
                 "200": ok("BatchList", "Nothing was due: an empty list."),
                 **WRITE_ERRORS},
                description="Writes every scheduled debit due within the export horizon into "
                            "pain.008 files (your version), one PmtInf per sequence type and "
                            "collection date, each file validated against the XSD before it "
                            "is offered. Each debit is exported once. 409 `export-refused` "
                            "without a creditor account.",
                parameters=WRITE, body="Empty", operation_id="exportBatches"),
            "get": operation(
                "List batches", "Batches", "payments:read",
                {"200": ok("BatchList", "A page of batches, newest first."),
                 "422": problem("Invalid query parameters.")},
                parameters=query(PAGE_PARAMS, config), operation_id="listBatches")},
        f"{PREFIX}/batches/{{batch_id}}": {"get": operation(
            "Get a batch", "Batches", "payments:read",
            {"200": ok("Batch", "The batch."), **NOT_FOUND},
            parameters=[batch_id], operation_id="getBatch")},
        f"{PREFIX}/batches/{{batch_id}}/file": {"get": operation(
            "Download a batch's pain.008 file", "Batches", "payments:read",
            {"200": {"description": "The file, byte for byte as exported (`ETag` and "
                                    "`X-Content-SHA256` are its SHA-256).",
                     "content": {"application/xml": {"schema": {
                         "type": "string", "contentMediaType": "application/xml"}}}},
             "304": {"description": "Not modified (`If-None-Match` matched)."},
             **NOT_FOUND, "410": problem("The stored file is missing (`file-missing`).")},
            parameters=[batch_id], operation_id="getBatchFile")},
        f"{PREFIX}/returns": {
            "post": {**operation(
                "Import a bank report", "Returns", "payments:write",
                {"201": ok("ReturnsImport", "Applied."),
                 "200": ok("ReturnsImport", "This file was imported before; nothing changed.",
                           True),
                 "413": problem("Larger than `COLLECTION_MAX_REPORT_BYTES`."),
                 "415": problem("Not sent as XML or CSV."),
                 "422": problem("`unreadable-report`, or `unknown-debits` (one error per line "
                                "naming no debit of yours; nothing was changed).")},
                description="The body is the file: a pain.002 status report, a camt.054 "
                            "debit notification, or a CSV with the header "
                            "`end_to_end_id,status,reason_code,reason_text` (`status`: "
                            "collected, rejected, returned, refunded). Lines are matched on "
                            "EndToEndId; each debit becomes collected, rejected, returned or "
                            "refunded with its reason, and temporary failures are retried. "
                            "All or nothing; the same file twice changes nothing.",
                operation_id="importReturns"),
                "requestBody": {"required": True, "content": {
                    media: {"schema": {"type": "string"}} for media in
                    ("application/xml", "text/xml", "text/csv")}}},
            "get": operation(
                "List imported reports", "Returns", "payments:read",
                {"200": ok("ReturnsImportList", "A page of imports, newest first."),
                 "422": problem("Invalid query parameters.")},
                parameters=query(PAGE_PARAMS, config), operation_id="listReturns")},
        f"{PREFIX}/returns/{{import_id}}": {"get": operation(
            "Get an imported report", "Returns", "payments:read",
            {"200": ok("ReturnsImport", "The import and what its lines did."), **NOT_FOUND},
            parameters=[import_id], operation_id="getReturnsImport")},
    }
