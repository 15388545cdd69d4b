"""The console's bookkeeping page: a merchant's month with its chart and CSV downloads."""

from __future__ import annotations

from flask import Response, abort, g, render_template, request

from portal.adapters import get_adapters
from portal.bookkeeping.chart import weekly_chart
from portal.bookkeeping.export import EXPORTS, euros
from portal.bookkeeping.service import PeriodError, Report, build_report, month_period
from portal.bookkeeping.summary import report_json
from portal.collections.calendar import bank_today
from portal.console.blueprint import bp
from portal.console.roles import Permission, requires
from portal.db import get_session
from portal.merchants.models import Merchant


def _merchant_and_report(month: str) -> tuple[Merchant, Report]:
    """The merchant of the URL (the access guard found it among the staff member's, else 404)
    and its report for the month."""
    db = get_session()
    merchant: Merchant = g.merchant
    try:
        return merchant, build_report(db, merchant.id, *month_period(month))
    except PeriodError:
        abort(404)


@bp.get("/merchants/<merchant_id>/bookkeeping")
@requires(Permission.READ)
def bookkeeping(merchant_id: str) -> Response | str:
    month = request.args.get("month") or f"{bank_today(get_adapters().clock()):%Y-%m}"
    merchant, report = _merchant_and_report(month[:7])
    return render_template("console/bookkeeping.html", merchant=merchant, month=month[:7],
                           report=report, summary=report_json(report, {}),
                           chart=weekly_chart(report.weeks), euros=euros,
                           exports=sorted(EXPORTS))


@bp.get("/merchants/<merchant_id>/bookkeeping/<month>/<name>.csv")
@requires(Permission.READ)
def bookkeeping_csv(merchant_id: str, month: str, name: str) -> Response:
    if name not in EXPORTS:
        abort(404)
    _, report = _merchant_and_report(month)
    return Response(EXPORTS[name](report).encode("utf-8"),
                    content_type="text/csv; charset=utf-8", headers={
                        "Content-Disposition": f'attachment; filename="{name}-{month}.csv"'})
