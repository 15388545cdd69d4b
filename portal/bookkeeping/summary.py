"""The report as JSON (the API's), amounts in cents."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from portal.bookkeeping.service import (
    CHARGEBACK,
    COLLECTION,
    DEBIT_REFUND,
    PAYMENT,
    REFUND,
    RETURN,
    Report,
)


def _sum(report: Report, kind: str) -> dict[str, int]:
    return {"count": report.count(kind), "amount": report.total(kind)}


def report_json(report: Report, exports: dict[str, str]) -> dict[str, Any]:
    """``exports``: name → URL of each CSV."""
    return {
        "object": "bookkeeping_report", "currency": "EUR",
        "start_date": report.start.isoformat(),
        "end_date": (report.end - timedelta(days=1)).isoformat(),
        "invoices_issued": {"count": len(report.invoices_issued),
                            "amount": sum(r.amount_cents for r in report.invoices_issued),
                            "vat": sum(r.vat_cents for r in report.invoices_issued)},
        "invoices_paid": {"count": len(report.invoices_paid),
                          "amount": sum(r.amount_cents for r in report.invoices_paid)},
        "collections": _sum(report, COLLECTION), "returns": _sum(report, RETURN),
        "debit_refunds": _sum(report, DEBIT_REFUND),
        "rejected": {"count": len(report.rejections), "amount": report.rejected_cents},
        "retries": report.retry_count,
        "payments": _sum(report, PAYMENT), "refunds": _sum(report, REFUND),
        "chargebacks": _sum(report, CHARGEBACK),
        "provider": {"settlements": report.settlements, "fees": report.fees_cents,
                     "payouts": report.payouts_cents},
        "net": report.net_cents,
        "open_by_customer": [{"customer": cid, "name": name, "open_amount": cents}
                             for cid, name, cents in report.open_by_customer],
        "weeks": [{"starts_on": w.starts_on.isoformat(), "collected": w.collected_cents,
                   "failed": w.failed_cents} for w in report.weeks],
        "exports": exports,
    }
