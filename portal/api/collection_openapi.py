"""The collections part of the OpenAPI document: debits, batches, returns, and their events."""

from __future__ import annotations

from typing import Any

from portal.api.collection_inputs import CANCEL_FIELDS, DEBIT_FIELDS, DEBIT_LIST_PARAMS
from portal.api.pagination import PAGE_PARAMS
from portal.api.validation import Field, object_schema
from portal.collections.models import DebitStatus, PainVersion, ReturnFormat, Route, SeqType
from portal.collections.returns import OUTCOMES
from portal.collections.service import REFUSALS

TAGS = [{"name": "Debits", "description": "Collections on active mandates: planned, retried, "
                                          "settled."},
        {"name": "Batches", "description": "pain.008 files for your bank."},
        {"name": "Returns", "description": "Your bank's reports: pain.002, camt.054, CSV."}]


def ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _nullable(kind: str, **extra: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **extra}


def _closed(properties: dict[str, Any], description: str = "") -> dict[str, Any]:
    schema = {"type": "object", "properties": properties, "required": list(properties),
              "additionalProperties": False}
    if description:
        schema["description"] = description
    return schema


def _list_of(name: str) -> dict[str, Any]:
    return _closed({"object": {"const": "list"}, "data": {"type": "array", "items": ref(name)},
                    "has_more": {"type": "boolean"}, "next_cursor": _nullable("string")})


def _date(nullable: bool = False) -> dict[str, Any]:
    return {**(_nullable("string") if nullable else {"type": "string"}), "format": "date"}


def _time(nullable: bool = False) -> dict[str, Any]:
    return {**(_nullable("string") if nullable else {"type": "string"}), "format": "date-time"}


def schemas(config: Any) -> dict[str, Any]:
    return {
        "Debit": _closed({
            "id": {"type": "string", "examples": ["dbt_7pQ2mX"]}, "object": {"const": "debit"},
            "status": {"enum": [s.value for s in DebitStatus]},
            "mandate": {"type": "string"}, "customer": {"type": "string"},
            "amount": {"type": "integer", "description": "Cents still to collect."},
            "original_amount": {"type": "integer", "description": "Cents first asked for."},
            "currency": {"const": "EUR"}, "description": {"type": "string"},
            "invoice_number": _nullable("string"), "payment_request": _nullable("string"),
            "route": {"enum": [r.value for r in Route]}, "scheme": {"enum": ["CORE", "B2B"]},
            "sequence_type": {"enum": [s.value for s in SeqType]},
            "collection_date": _date(), "requested_date": _date(True),
            "final": {"type": "boolean"}, "attempt": {"type": "integer"},
            "max_attempts": {"type": "integer"},
            "end_to_end_id": _nullable("string", description="Of the current attempt, once "
                                                             "submitted."),
            "batch": _nullable("string"),
            "provider_payment": _nullable("string", description="Provider route: the current "
                                                                "attempt's payment at the "
                                                                "provider (Mollie tr_…)."),
            "reason_code": _nullable("string", examples=["AM04"]),
            "reason": _nullable("string"), "will_retry": {"type": "boolean"},
            "pay_link": _nullable("string", description="After the last failure: where the "
                                                        "customer pays the open amount."),
            "prenotified_at": _time(True), "created_at": _time(), "updated_at": _time(),
        }),
        "PaymentGroup": _closed({
            "id": {"type": "string", "description": "PmtInfId."},
            "sequence_type": {"enum": [s.value for s in SeqType]},
            "collection_date": _date(), "count": {"type": "integer"},
            "sum": {"type": "integer", "description": "Cents."}}),
        "BatchFile": _closed({"url": {"type": "string", "format": "uri"},
                              "sha256": {"type": "string"}, "size": {"type": "integer"}}),
        "Batch": _closed({
            "id": {"type": "string", "examples": ["bat_3kR8sW"]}, "object": {"const": "batch"},
            "message_id": {"type": "string"},
            "pain_version": {"enum": [v.value for v in PainVersion]},
            "scheme": {"enum": ["CORE", "B2B"]}, "creditor_iban": {"type": "string"},
            "transaction_count": {"type": "integer"},
            "control_sum": {"type": "integer", "description": "Cents."},
            "payment_groups": {"type": "array", "items": ref("PaymentGroup")},
            "file": ref("BatchFile"), "delivered_to": {"enum": ["manual", "sandbox"]},
            "created_at": _time()}),
        "ReturnsImport": _closed({
            "id": {"type": "string", "examples": ["rti_9tB4vN"]},
            "object": {"const": "returns_import"},
            "format": {"enum": [f.value for f in ReturnFormat]},
            "message_id": _nullable("string"),
            "source": {"type": "string", "examples": ["api", "cli", "sandbox-bank"]},
            "counts": {"type": "object", "description": "Lines by effect.",
                       "properties": {name: {"type": "integer"} for name in OUTCOMES},
                       "additionalProperties": {"type": "integer"}},
            "sha256": {"type": "string"}, "size": {"type": "integer"},
            "created_at": _time()}),
        "DebitList": _list_of("Debit"),
        "BatchList": _list_of("Batch"),
        "ReturnsImportList": _list_of("ReturnsImport"),
        "CreateDebit": {"type": "object", **object_schema(DEBIT_FIELDS, config)},
        "CancelDebit": {"type": "object", **object_schema(CANCEL_FIELDS, config)},
    }


def paths(config: Any, *, operation: Any, problem: Any, ok: Any, path_id: Any,
          parameter: Any, write: list[dict[str, Any]], write_errors: dict[str, Any],
          prefix: str) -> dict[str, Any]:
    """The collections paths, built with the main document's helpers."""
    def query(fields: tuple[Field, ...]) -> list[dict[str, Any]]:
        return [parameter(f, "query", config) for f in fields]

    debit_id, batch_id = path_id("debit_id", "dbt"), path_id("batch_id", "bat")
    import_id = path_id("import_id", "rti")
    not_found = {"404": problem("No such object for your merchant.")}
    refusals = "; ".join(f"`{code}`" for code in REFUSALS)
    return {
        f"{prefix}/debits": {
            "post": operation(
                "Schedule a debit", "Debits", "payments:write",
                {"201": ok("Debit", "The scheduled debit.", True), **write_errors},
                description="Collects `amount` from an active mandate on the earliest valid "
                            "date: a TARGET2 business day, D-1 submission, your lead time and "
                            "the debtor's pre-notification (14 days unless agreed), not before "
                            "`collection_date`. The sequence type follows the mandate's "
                            "history. The debtor is emailed the amount, date and mandate "
                            "reference. A refusal is 422 `debit-refused`; the error message "
                            f"starts with its code: {refusals}.",
                parameters=write, body="CreateDebit", operation_id="createDebit",
                example={"mandate": "md_5rT7wQ", "amount": 2500,
                         "description": "Membership April", "invoice_number": "2026-0042"}),
            "get": operation(
                "List debits", "Debits", "payments:read",
                {"200": ok("DebitList", "A page of debits, newest first."),
                 "422": problem("Invalid query parameters.")},
                parameters=query(DEBIT_LIST_PARAMS), operation_id="listDebits")},
        f"{prefix}/debits/{{debit_id}}": {"get": operation(
            "Get a debit", "Debits", "payments:read",
            {"200": ok("Debit", "The debit."), **not_found},
            parameters=[debit_id], operation_id="getDebit")},
        f"{prefix}/debits/{{debit_id}}/cancel": {"post": operation(
            "Cancel a debit", "Debits", "payments:write",
            {"200": ok("Debit", "The cancelled debit.", True), **not_found, **write_errors},
            description="Only a scheduled debit (not yet submitted); else 409 `invalid-state`.",
            parameters=[debit_id, *write], body="CancelDebit", operation_id="cancelDebit")},
        f"{prefix}/batches": {
            "post": operation(
                "Export due debits", "Batches", "payments:write",
                {"201": ok("BatchList", "The new batches (one per scheme)."),
                 "200": ok("BatchList", "Nothing was due: an empty list."),
                 **write_errors},
                description="Writes every scheduled debit due within the export horizon into "
                            "pain.008 files (your version), one PmtInf per sequence type and "
                            "collection date, each file validated against the XSD before it "
                            "is offered. Each debit is exported once. 409 `export-refused` "
                            "without a creditor account.",
                parameters=write, body="Empty", operation_id="exportBatches"),
            "get": operation(
                "List batches", "Batches", "payments:read",
                {"200": ok("BatchList", "A page of batches, newest first."),
                 "422": problem("Invalid query parameters.")},
                parameters=query(PAGE_PARAMS), operation_id="listBatches")},
        f"{prefix}/batches/{{batch_id}}": {"get": operation(
            "Get a batch", "Batches", "payments:read",
            {"200": ok("Batch", "The batch."), **not_found},
            parameters=[batch_id], operation_id="getBatch")},
        f"{prefix}/batches/{{batch_id}}/file": {"get": operation(
            "Download a batch's pain.008 file", "Batches", "payments:read",
            {"200": {"description": "The file, byte for byte as exported (`ETag` and "
                                    "`X-Content-SHA256` are its SHA-256).",
                     "content": {"application/xml": {"schema": {
                         "type": "string", "contentMediaType": "application/xml"}}}},
             "304": {"description": "Not modified (`If-None-Match` matched)."},
             **not_found, "410": problem("The stored file is missing (`file-missing`).")},
            parameters=[batch_id], operation_id="getBatchFile")},
        f"{prefix}/returns": {
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
                parameters=query(PAGE_PARAMS), operation_id="listReturns")},
        f"{prefix}/returns/{{import_id}}": {"get": operation(
            "Get an imported report", "Returns", "payments:read",
            {"200": ok("ReturnsImport", "The import and what its lines did."), **not_found},
            parameters=[import_id], operation_id="getReturnsImport")},
    }
