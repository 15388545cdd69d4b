"""Payment requests: create (and optionally email or text) one, list, read, withdraw; enter a
payment made outside the portal; refund what was paid."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import Response, current_app, g
from sqlalchemy.orm import Session, selectinload

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.blueprint import bp, json_response, not_found
from portal.api.idempotency import write_endpoint
from portal.api.inputs import (
    EXTERNAL_PAYMENT_FIELDS,
    MAX_REQUEST_DAYS,
    PAYMENT_REQUEST_FIELDS,
    REFUND_FIELDS,
    REQUEST_LIST_PARAMS,
    WITHDRAW_FIELDS,
)
from portal.api.pagination import DEFAULT_LIMIT, anchor, filter_id, paginate
from portal.api.rules import delivery_channel, due_by_expiry, link_expiry, one_customer
from portal.api.serializers import (
    list_json,
    payment_json,
    payment_request_json,
    refund_json,
)
from portal.api.validation import read_query, validate_body, validation_problem
from portal.db import get_session
from portal.errors import Problem
from portal.merchants.models import Merchant
from portal.payments.lifecycle import InvalidTransition
from portal.payments.models import Collect, Payment, PaymentRequest, RequestStatus
from portal.payments.refunds import RefundRefused, create_refund, find_refund
from portal.payments.service import (
    CustomerDetails,
    PaymentSettings,
    RequestSpec,
    create_payment_request,
    find_customer,
    find_payment_request,
    merchant_requests,
    record_external_payment,
    withdraw_payment_request,
)


def _customer(data: dict[str, Any], merchant: int) -> Any:
    one_customer(data)
    if "customer_id" in data:
        customer = find_customer(get_session(), merchant, data["customer_id"])
        if customer is None:
            raise validation_problem([{"field": "customer_id",
                                       "message": "No customer with this id."}])
        return customer
    details = data["customer"]
    return CustomerDetails(name=details["name"], email=details.get("email"),
                           phone=details.get("phone"), locale=details.get("locale"))


def request_from_body(session: Session, merchant: Merchant, data: dict[str, Any], *,
                      actor: str, now: datetime) -> PaymentRequest:
    """The payment request a validated ``PAYMENT_REQUEST_FIELDS`` body asks for; a 422
    :class:`Problem` naming the field at fault. The API and the console both create them so."""
    expires_at = link_expiry(data, now, max_days=MAX_REQUEST_DAYS,
                              default_days=int(current_app.config["PAYMENT_REQUEST_TTL_DAYS"]))
    customer = _customer(data, merchant.id)
    channel = delivery_channel(data.get("send_via"), email=customer.email, phone=customer.phone,
                            sms_available=get_adapters().sms is not None).value
    due_by_expiry(data, expires_at)
    return create_payment_request(session, merchant, RequestSpec(
        amount_cents=data["amount"], description=data["description"], customer=customer,
        expires_at=expires_at, invoice_number=data.get("invoice_number"),
        external_reference=data.get("external_reference"), due_date=data.get("due_date"),
        methods=tuple(data["methods"]) if data.get("methods") else None,
        allow_partial=data.get("allow_partial", False), offer_mandate=data.get("offer_mandate"),
        collect=Collect(data.get("collect", Collect.AUTOMATIC.value)),
        return_url=data.get("return_url"), channel=channel),
        actor=actor, now=now, settings=PaymentSettings.from_config(current_app.config))


@bp.post("/payment-requests")
@require_scope("payments:write")
@write_endpoint
def create_payment_request_view(body: Any) -> Response:
    data = validate_body(PAYMENT_REQUEST_FIELDS, body)
    session = get_session()
    request = request_from_body(session, session.get(Merchant, merchant_id()), data,
                                actor=g.api_actor, now=get_adapters().clock())
    return json_response(payment_request_json(request), 201)


def _request(request_id: str) -> PaymentRequest:
    request = find_payment_request(get_session(), merchant_id(), request_id)
    if request is None:
        raise not_found("payment request")
    return request


@bp.get("/payment-requests")
@require_scope("payments:read")
def list_payment_requests() -> Response:
    params = read_query(REQUEST_LIST_PARAMS)
    session = get_session()
    query = merchant_requests(
        merchant_id(), status=RequestStatus(params["status"]) if "status" in params else None,
        customer_id=filter_id(session, merchant_id(), params, "customer_id", find_customer), invoice_number=params.get("invoice_number"),
        external_reference=params.get("external_reference"),
    ).options(selectinload(PaymentRequest.customer), selectinload(PaymentRequest.payments),
              selectinload(PaymentRequest.refunds), selectinload(PaymentRequest.short_link))
    page = paginate(session, query, PaymentRequest, merchant_id(), anchor(params),
                    params.get("limit", DEFAULT_LIMIT), newest_first=True)
    return json_response(list_json([payment_request_json(r) for r in page.items],
                                   page.has_more, page.next_cursor))


@bp.get("/payment-requests/<request_id>")
@require_scope("payments:read")
def get_payment_request(request_id: str) -> Response:
    return json_response(payment_request_json(_request(request_id)))


@bp.post("/payment-requests/<request_id>/withdraw")
@require_scope("payments:write")
@write_endpoint
def withdraw_payment_request_view(body: Any, request_id: str) -> Response:
    data = validate_body(WITHDRAW_FIELDS, body)
    request = _request(request_id)
    try:
        withdraw_payment_request(get_session(), request, actor=g.api_actor, now=get_adapters().clock(),
                                 reason=data.get("reason"))
    except InvalidTransition:
        raise Problem(409, "Invalid state", f"Cannot withdraw a payment request that is "
                      f"{request.status.value}.", type="invalid-state") from None
    return json_response(payment_request_json(request))


@bp.post("/payment-requests/<request_id>/payments")
@require_scope("payments:write")
@write_endpoint
def record_payment_view(body: Any, request_id: str) -> Response:
    data = validate_body(EXTERNAL_PAYMENT_FIELDS, body)
    request = _request(request_id)
    now = get_adapters().clock()
    if data.get("paid_at") and data["paid_at"] > now:
        raise validation_problem([{"field": "paid_at", "message": "Must not be in the future."}])
    payment = record_external_payment(
        get_session(), request, data["amount"], method=data.get("method"),
        reference=data.get("reference"), actor=g.api_actor, now=now, paid_at=data.get("paid_at"))
    return json_response(payment_json(payment), 201)


@bp.get("/payment-requests/<request_id>/payments/<payment_id>")
@require_scope("payments:read")
def get_payment(request_id: str, payment_id: str) -> Response:
    request = _request(request_id)
    payment = next((p for p in request.payments if p.public_id == payment_id), None)
    if payment is None:
        raise not_found("payment")
    return json_response(payment_json(payment))


@bp.post("/payment-requests/<request_id>/refunds")
@require_scope("payments:write")
@write_endpoint
def create_refund_view(body: Any, request_id: str) -> Response:
    data = validate_body(REFUND_FIELDS, body)
    request = _request(request_id)
    payment: Payment | None = None
    if "payment" in data:
        payment = next((p for p in request.payments if p.public_id == data["payment"]), None)
        if payment is None:
            raise validation_problem([{"field": "payment",
                                       "message": "No payment with this id on this request."}])
    try:
        refund = create_refund(get_session(), request, data.get("amount"), payment=payment,
                               description=data.get("description"), actor=g.api_actor,
                               now=get_adapters().clock())
    except RefundRefused as exc:
        raise Problem(422, "Refund refused", str(exc), type="refund-refused", errors=[
            {"field": "amount", "message": str(exc)}]) from None
    return json_response(refund_json(refund), 201)


@bp.get("/refunds/<refund_id>")
@require_scope("payments:read")
def get_refund(refund_id: str) -> Response:
    refund = find_refund(get_session(), merchant_id(), refund_id)
    if refund is None:
        raise not_found("refund")
    return json_response(refund_json(refund))
