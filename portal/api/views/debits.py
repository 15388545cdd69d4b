"""Debits: schedule one on an active mandate (or learn why not), list, read, cancel."""

from __future__ import annotations

from typing import Any

from flask import Response, g
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.blueprint import bp, json_response, not_found
from portal.api.collection_inputs import CANCEL_FIELDS, DEBIT_FIELDS, DEBIT_LIST_PARAMS
from portal.api.collection_serializers import debit_json
from portal.api.idempotency import write_endpoint
from portal.api.pagination import DEFAULT_LIMIT, anchor, filter_id, paginate
from portal.api.serializers import list_json
from portal.api.validation import read_query, validate_body, validation_problem
from portal.collections.lifecycle import IllegalDebitTransition
from portal.collections.models import Debit, DebitAttempt, DebitStatus
from portal.collections.service import (
    DebitRefused,
    DebitRequest,
    cancel_debit,
    find_debit,
    schedule_debit,
)
from portal.db import get_session
from portal.errors import Problem
from portal.mandates.service import find_mandate
from portal.payments.service import find_payment_request


def _current_attempt(debit: Debit) -> DebitAttempt | None:
    return next((a for a in debit.attempts if a.number == debit.attempt), None)


def _json(debit: Debit) -> dict[str, Any]:
    return debit_json(debit, _current_attempt(debit))


def _debit(debit_id: str) -> Debit:
    debit = find_debit(get_session(), merchant_id(), debit_id)
    if debit is None:
        raise not_found("debit")
    return debit


def debit_from_body(session: Session, merchant: int, data: dict[str, Any], *,
                    actor: str) -> Debit:
    """The debit a validated ``DEBIT_FIELDS`` body asks for, on the merchant's mandate; a 422
    :class:`Problem` when it is refused. The API and the console both schedule them so."""
    mandate = find_mandate(session, merchant, data["mandate"])
    if mandate is None:
        raise validation_problem([{"field": "mandate", "message": "No mandate with this id."}])
    if "payment_request" in data and find_payment_request(
            session, merchant, data["payment_request"]) is None:
        raise validation_problem([{"field": "payment_request",
                                   "message": "No payment request with this id."}])
    adapters = get_adapters()
    try:
        return schedule_debit(session, DebitRequest(
            mandate=mandate, amount_cents=data["amount"], description=data["description"],
            invoice_number=data.get("invoice_number"),
            payment_request=data.get("payment_request"),
            requested_date=data.get("collection_date"), final=data.get("final", False)),
            policy=adapters.collectors.policy, actor=actor, now=adapters.clock())
    except DebitRefused as refused:
        raise Problem(422, "Debit refused", str(refused), type="debit-refused", errors=[
            {"field": "mandate", "message": f"{refused.code}: {refused}"}]) from None


@bp.post("/debits")
@require_scope("payments:write")
@write_endpoint
def create_debit(body: Any) -> Response:
    data = validate_body(DEBIT_FIELDS, body)
    debit = debit_from_body(get_session(), merchant_id(), data, actor=g.api_actor)
    return json_response(_json(debit), 201)


@bp.get("/debits")
@require_scope("payments:read")
def list_debits() -> Response:
    params = read_query(DEBIT_LIST_PARAMS)
    session = get_session()
    query = select(Debit).where(Debit.merchant_id == merchant_id()).options(
        selectinload(Debit.attempts).selectinload(DebitAttempt.batch),
        selectinload(Debit.mandate), selectinload(Debit.customer))
    if "status" in params:
        query = query.where(Debit.status == DebitStatus(params["status"]))
    mandate_id = filter_id(session, merchant_id(), params, "mandate", find_mandate)
    if mandate_id is not None:
        query = query.where(Debit.mandate_id == mandate_id)
    page = paginate(session, query, Debit, merchant_id(), anchor(params),
                    params.get("limit", DEFAULT_LIMIT), newest_first=True)
    return json_response(list_json([_json(d) for d in page.items], page.has_more,
                                   page.next_cursor))


@bp.get("/debits/<debit_id>")
@require_scope("payments:read")
def get_debit(debit_id: str) -> Response:
    return json_response(_json(_debit(debit_id)))


@bp.post("/debits/<debit_id>/cancel")
@require_scope("payments:write")
@write_endpoint
def cancel_debit_view(body: Any, debit_id: str) -> Response:
    data = validate_body(CANCEL_FIELDS, body)
    debit = _debit(debit_id)
    try:
        cancel_debit(get_session(), debit, data.get("reason"), actor=g.api_actor,
                     now=get_adapters().clock())
    except IllegalDebitTransition as exc:
        raise Problem(409, "Invalid state", f"Cannot cancel a debit that is {exc.status.value}; "
                      "only scheduled debits can be cancelled.", type="invalid-state") from None
    return json_response(_json(debit))
