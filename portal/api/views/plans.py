"""Plans: create, list, read."""

from __future__ import annotations

from typing import Any

from flask import Response, g

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.billing_common import field_problem
from portal.api.billing_inputs import PLAN_FIELDS
from portal.api.billing_serializers import plan_json
from portal.api.blueprint import bp, json_response, not_found
from portal.api.idempotency import write_endpoint
from portal.api.pagination import DEFAULT_LIMIT, PAGE_PARAMS, anchor, paginate
from portal.api.serializers import list_json
from portal.api.validation import read_query, validate_body
from portal.db import get_session
from portal.merchants.models import Merchant
from portal.subscriptions.models import Interval, Plan
from portal.subscriptions.service import (
    PlanSpec,
    SubscriptionError,
    create_plan,
    find_plan,
    merchant_plans,
)


@bp.post("/plans")
@require_scope("billing:write")
@write_endpoint
def create_plan_view(body: Any) -> Response:
    data = validate_body(PLAN_FIELDS, body)
    session = get_session()
    try:
        plan = create_plan(session, session.get(Merchant, merchant_id()), PlanSpec(
            name=data["name"], amount_cents=data["amount"], interval=Interval(data["interval"]),
            vat_rate=data.get("vat_rate"), term_periods=data.get("term_periods"),
            term_end_date=data.get("term_end_date")), actor=g.api_actor, now=get_adapters().clock())
    except SubscriptionError as exc:
        raise field_problem(exc.field, str(exc)) from None
    return json_response(plan_json(plan), 201)  # Location: the one place for every 201


@bp.get("/plans")
@require_scope("billing:read")
def list_plans() -> Response:
    params = read_query(PAGE_PARAMS)
    page = paginate(get_session(), merchant_plans(merchant_id()), Plan, merchant_id(),
                    anchor(params), params.get("limit", DEFAULT_LIMIT), newest_first=True)
    return json_response(list_json([plan_json(p) for p in page.items], page.has_more,
                                   page.next_cursor))


@bp.get("/plans/<plan_id>")
@require_scope("billing:read")
def get_plan(plan_id: str) -> Response:
    plan = find_plan(get_session(), merchant_id(), plan_id)
    if plan is None:
        raise not_found("plan")
    return json_response(plan_json(plan))
