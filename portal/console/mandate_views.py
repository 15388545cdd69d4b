"""The mandate page's own routes: the page itself is rendered here for ``views.mandate_detail``
and after revealing the IBAN; the PDF inline (framed by this page only) and the bank's pain.012.
Every look is audited with the staff member."""

from __future__ import annotations

from flask import Response, abort, g, render_template, request

from portal.adapters import get_adapters
from portal.console.blueprint import bp
from portal.console.forms import ActionForm, RevealIbanForm
from portal.console.labels import ABANDONED_LABELS, PAYMENT_LABELS, STATUS_LABELS
from portal.console.mandate_page import mandate_page
from portal.console.reveal import MIN_REASON_LENGTH, RevealRefused, reveal_iban
from portal.console.roles import Permission, requires
from portal.console.service import find_mandate, record_access
from portal.db import get_session
from portal.documents.service import mandate_pdf, read_pdf
from portal.emandates.reports import ReportMismatch, evidence_report
from portal.mandates.models import Mandate

PDF_POLICY = ("default-src 'none'; object-src 'self'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'self'")


def mandate_in_scope(public_id: str) -> Mandate:
    mandate = find_mandate(get_session(), public_id, g.scope)
    if mandate is None:
        abort(404)
    return mandate


def audited_pdf(public_id: str, action: str) -> tuple[Mandate, bytes]:
    """The mandate in scope and its sealed PDF, the reading audited as ``action`` (404 when the
    mandate or its PDF is not there)."""
    db = get_session()
    mandate = mandate_in_scope(public_id)
    record = mandate_pdf(db, mandate)
    if record is None:
        abort(404)
    body = read_pdf(get_adapters().pdf_store, record)
    record_access(db, g.staff, mandate, action, now=get_adapters().clock(),
                  ip=request.remote_addr)
    db.commit()
    return mandate, body


def render_mandate(mandate: Mandate, *, revealed: str | None = None,
                   reveal_error: str | None = None, form: RevealIbanForm | None = None,
                   status: int = 200):
    adapters = get_adapters()
    page = mandate_page(get_session(), mandate, adapters.pdf_store, adapters.sealing().trust,
                        now=adapters.clock())
    return render_template(
        "console/mandate.html", page=page, record=page.record, mandate=mandate,
        action_form=ActionForm(), reveal_form=form or RevealIbanForm(), revealed=revealed,
        reveal_error=reveal_error, min_reason=MIN_REASON_LENGTH, status_labels=STATUS_LABELS,
        abandoned_labels=ABANDONED_LABELS, payment_labels=PAYMENT_LABELS), status


@bp.post("/mandates/<public_id>/iban")
@requires(Permission.READ)
def reveal_mandate_iban(public_id: str):
    """The full IBAN on this answer only, for a typed reason that is audited first."""
    mandate = mandate_in_scope(public_id)
    form = RevealIbanForm()
    if not form.validate_on_submit():
        if form.csrf_token.errors:
            abort(400)
        return render_mandate(mandate, form=form, status=422,
                              reveal_error=f"Give a reason of at least {MIN_REASON_LENGTH} "
                                           "characters.")
    db = get_session()
    try:
        iban = reveal_iban(db, g.staff, mandate, form.reason.data, now=get_adapters().clock(),
                           ip=request.remote_addr)
    except RevealRefused as exc:
        db.rollback()
        return render_mandate(mandate, form=form, status=422,
                              reveal_error=str(exc).capitalize() + ".")
    db.commit()
    return render_mandate(mandate, revealed=iban)


@bp.get("/mandates/<public_id>/pdf/inline")
@requires(Permission.READ)
def mandate_pdf_inline(public_id: str):
    """The sealed PDF to read in the page: served inline, and framable by the console's own
    pages only (every other answer refuses framing)."""
    mandate, body = audited_pdf(public_id, "console.view_pdf")
    g.frame_ancestors = "'self'"
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'inline; filename="{mandate.public_id}.pdf"',
        "Cache-Control": "no-store", "X-Frame-Options": "SAMEORIGIN",
        # A document, not a page: nothing of its own to load, but the browser's PDF viewer
        # (a plugin, which the pages' object-src 'none' would refuse) may show it.
        "Content-Security-Policy": PDF_POLICY})


@bp.get("/mandates/<public_id>/pain012")
@requires(Permission.READ)
def mandate_pain012(public_id: str):
    """The debtor bank's signed acceptance report exactly as received (it names the IBAN, so
    it is downloaded, audited, never shown in the page)."""
    db = get_session()
    mandate = mandate_in_scope(public_id)
    try:
        document = evidence_report(db, mandate.evidence or {})
    except ReportMismatch:
        abort(404)
    if document is None:
        abort(404)
    record_access(db, g.staff, mandate, "console.download_pain012", now=get_adapters().clock(),
                  ip=request.remote_addr)
    db.commit()
    return Response(document, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{mandate.public_id}-pain.012.xml"',
        "Cache-Control": "no-store"})
