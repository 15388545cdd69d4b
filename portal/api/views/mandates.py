"""Mandates: list with filters, read one, download its sealed PDF, revoke it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Response, current_app, g
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.blueprint import bp, invalid_state, json_response, not_found
from portal.api.idempotency import write_endpoint
from portal.api.inputs import CHANGE_FIELDS, LIST_PARAMS, REVOKE_FIELDS
from portal.api.pagination import DEFAULT_LIMIT, anchor, paginate
from portal.api.serializers import invitation_json, list_json, mandate_json
from portal.api.validation import read_query, validate_body
from portal.db import get_session
from portal.documents.models import MandatePdf
from portal.documents.service import mandate_pdf, read_pdf
from portal.emandates.service import latest_transactions
from portal.errors import Problem
from portal.mandates.lifecycle import IllegalTransition
from portal.mandates.models import InvitationPurpose, Mandate, MandateStatus, Scheme
from portal.mandates.service import (
    MandateChangeRefused,
    find_mandate,
    invite_bank_change,
    merchant_mandates,
    revoke_mandate,
)


def _mandate(mandate_id: str) -> Mandate:
    mandate = find_mandate(get_session(), merchant_id(), mandate_id)
    if mandate is None:
        raise not_found("mandate")
    return mandate


@bp.get("/mandates")
@require_scope("mandates:read")
def list_mandates() -> Response:
    params = read_query(LIST_PARAMS)
    session = get_session()
    query = merchant_mandates(
        session, merchant_id(),
        status=MandateStatus(params["status"]) if "status" in params else None,
        scheme=Scheme(params["scheme"]) if "scheme" in params else None,
        external_reference=params.get("external_reference"), iban=params.get("iban"),
    ).options(selectinload(Mandate.customer))
    page = paginate(session, query, Mandate, merchant_id(), anchor(params),
                    params.get("limit", DEFAULT_LIMIT), newest_first=True)
    ids = [m.id for m in page.items]
    pdfs = {pdf.mandate_id: pdf for pdf in session.scalars(select(MandatePdf).where(
        MandatePdf.mandate_id.in_(ids)))} if ids else {}
    banks = latest_transactions(session, ids)
    return json_response(list_json([mandate_json(m, pdfs.get(m.id), banks.get(m.id))
                                    for m in page.items], page.has_more, page.next_cursor))


@bp.get("/mandates/<mandate_id>")
@require_scope("mandates:read")
def get_mandate(mandate_id: str) -> Response:
    mandate = _mandate(mandate_id)
    return json_response(mandate_json(mandate, mandate_pdf(get_session(), mandate)))


@bp.get("/mandates/<mandate_id>/pdf")
@require_scope("mandates:read")
def mandate_pdf_download(mandate_id: str) -> Response:
    mandate = _mandate(mandate_id)
    record = mandate_pdf(get_session(), mandate)
    if record is None and mandate.signed_at is not None:
        raise Problem(409, "PDF pending", "The sealed PDF is being produced; retry shortly.",
                      type="pdf-pending", headers={"Retry-After": "5"})
    if record is None:
        raise Problem(409, "No PDF", "This mandate has not been signed, so it has no PDF.",
                      type="pdf-not-applicable")
    return Response(read_pdf(get_adapters().pdf_store, record), mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="mandate-{mandate.reference}.pdf"',
        "Cache-Control": "private, no-store", "X-Content-SHA256": record.sha256})


@bp.post("/mandates/<mandate_id>/revoke")
@require_scope("mandates:write")
@write_endpoint
def revoke_mandate_view(body: Any, mandate_id: str) -> Response:
    data = validate_body(REVOKE_FIELDS, body)
    mandate = _mandate(mandate_id)
    session = get_session()
    try:
        revoke_mandate(session, mandate, data.get("reason"), actor=g.api_actor,
                       now=get_adapters().clock())
    except IllegalTransition as exc:
        raise invalid_state(exc) from None
    return json_response(mandate_json(mandate, mandate_pdf(session, mandate)))


def _bank_change(body: Any, mandate_id: str, purpose: InvitationPurpose) -> Response:
    data = validate_body(CHANGE_FIELDS, body)
    mandate = _mandate(mandate_id)
    adapters = get_adapters()
    if adapters.bank is None:
        raise Problem(422, "Bank signing is not configured",
                      "This portal does not sign at the debtor's bank (eMandates).",
                      type="bank-not-configured")
    now = adapters.clock()
    days = data.get("expires_in_days", int(current_app.config["INVITATION_TTL_DAYS"]))
    try:
        invitation = invite_bank_change(get_session(), mandate, purpose, actor=g.api_actor,
                                        ttl=timedelta(days=days), now=now)
    except MandateChangeRefused as exc:
        raise Problem(409, "Invalid state", str(exc), type="invalid-state") from None
    return json_response(invitation_json(invitation, now), 201)


@bp.post("/mandates/<mandate_id>/amendments")
@require_scope("mandates:write")
@write_endpoint
def amend_mandate_view(body: Any, mandate_id: str) -> Response:
    """A link for the debtor to move the mandate to another account at their (new) bank."""
    return _bank_change(body, mandate_id, InvitationPurpose.AMEND)


@bp.post("/mandates/<mandate_id>/cancellations")
@require_scope("mandates:write")
@write_endpoint
def cancel_mandate_view(body: Any, mandate_id: str) -> Response:
    """A link for the debtor to end a B2B mandate at their bank."""
    return _bank_change(body, mandate_id, InvitationPurpose.CANCEL)
