"""JSON of debits, batches and returns imports (the webhook payloads reuse nothing here: debit
events carry ids; fetch the object for the rest)."""

from __future__ import annotations

from typing import Any

from portal.api.serializers import api_base_url, timestamp
from portal.collections.models import Batch, Debit, DebitAttempt, ReturnImport
from portal.collections.service import MAX_ATTEMPTS


def debit_json(debit: Debit, attempt: DebitAttempt | None) -> dict[str, Any]:
    """``attempt``: the debit's current attempt, if it was presented."""
    return {
        "id": debit.public_id, "object": "debit", "status": debit.status.value,
        "mandate": debit.mandate.public_id, "customer": debit.customer.public_id,
        "amount": debit.amount_cents, "original_amount": debit.original_amount_cents,
        "currency": "EUR", "description": debit.description,
        "invoice_number": debit.invoice_number, "payment_request": debit.payment_request,
        "route": debit.route.value, "scheme": debit.scheme,
        "sequence_type": debit.sequence_type.value,
        "collection_date": debit.collection_date.isoformat(),
        "requested_date": debit.requested_date.isoformat() if debit.requested_date else None,
        "final": debit.final, "attempt": debit.attempt, "max_attempts": MAX_ATTEMPTS,
        "end_to_end_id": attempt.end_to_end_id if attempt else None,
        "batch": attempt.batch.public_id if attempt and attempt.batch else None,
        "provider_payment": attempt.provider_payment_id if attempt else None,
        "reason_code": debit.reason_code, "reason": debit.reason_text,
        "will_retry": debit.will_retry, "pay_link": debit.pay_link,
        "prenotified_at": timestamp(debit.prenotified_at),
        "created_at": timestamp(debit.created_at), "updated_at": timestamp(debit.updated_at),
    }


def batch_json(batch: Batch) -> dict[str, Any]:
    return {
        "id": batch.public_id, "object": "batch", "message_id": batch.message_id,
        "pain_version": batch.pain_version.value, "scheme": batch.scheme,
        "creditor_iban": batch.creditor_iban, "transaction_count": batch.transaction_count,
        "control_sum": batch.control_sum_cents,
        "payment_groups": [{"id": g["id"], "sequence_type": g["sequence_type"],
                            "collection_date": g["collection_date"], "count": g["count"],
                            "sum": g["sum_cents"]} for g in batch.payment_groups],
        "file": {"url": f"{api_base_url()}/batches/{batch.public_id}/file",
                 "sha256": batch.file_sha256, "size": batch.file_size},
        "delivered_to": batch.delivered_to, "created_at": timestamp(batch.created_at),
    }


def returns_import_json(report: ReturnImport) -> dict[str, Any]:
    return {
        "id": report.public_id, "object": "returns_import", "format": report.format.value,
        "message_id": report.message_id, "source": report.source, "counts": dict(report.counts),
        "sha256": report.file_sha256, "size": report.file_size,
        "created_at": timestamp(report.created_at),
    }
