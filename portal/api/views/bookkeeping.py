"""Bookkeeping: a month's report as JSON, and its CSV exports."""

from __future__ import annotations

from flask import Response

from portal.api.auth import merchant_id, require_scope
from portal.api.blueprint import bp, json_response, not_found
from portal.api.serializers import api_base_url
from portal.api.validation import read_query, validation_problem
from portal.bookkeeping.export import EXPORTS
from portal.bookkeeping.service import PeriodError, Report, build_report, month_period
from portal.bookkeeping.summary import report_json
from portal.db import get_session


def _report(month: str) -> Report:
    read_query(())
    try:
        start, end = month_period(month)
        return build_report(get_session(), merchant_id(), start, end)
    except PeriodError as exc:
        raise validation_problem([{"field": "month", "message": str(exc)}]) from None


@bp.get("/bookkeeping/<month>")
@require_scope("billing:read")
def get_bookkeeping_report(month: str) -> Response:
    report = _report(month)
    base = f"{api_base_url()}/bookkeeping/{month}"
    return json_response(report_json(report, {name: f"{base}/{name}.csv" for name in EXPORTS}))


@bp.get("/bookkeeping/<month>/<name>.csv")
@require_scope("billing:read")
def get_bookkeeping_export(month: str, name: str) -> Response:
    export = EXPORTS.get(name)
    if export is None:
        raise not_found("export")
    body = export(_report(month))
    return Response(body.encode("utf-8"), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="{name}-{month}.csv"'},
        content_type="text/csv; charset=utf-8")
