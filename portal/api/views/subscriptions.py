"""Subscriptions: start, list, read; pause, resume, stop, change plan; the same for many at
once (all or nothing)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import Any

from flask import Response, current_app, g
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.api.auth import merchant_id, require_scope
from portal.api.billing_common import (
    customer_of,
    field_problem,
    ignored_repeat,
    invalid_state,
    no_such,
)
from portal.api.billing_inputs import (
    BULK_ACTIONS,
    BULK_FIELDS,
    CHANGE_PLAN_FIELDS,
    PAUSE_FIELDS,
    RESUME_FIELDS,
    STOP_FIELDS,
    SUBSCRIPTION_FIELDS,
    SUBSCRIPTION_LIST_PARAMS,
)
from portal.api.billing_serializers import subscription_json
from portal.api.blueprint import bp, json_response, not_found
from portal.api.idempotency import write_endpoint
from portal.api.pagination import DEFAULT_LIMIT, anchor, filter_id, paginate
from portal.api.serializers import list_json
from portal.api.validation import read_query, validate_body, validation_problem
from portal.collections.calendar import bank_today
from portal.db import get_session
from portal.errors import Problem
from portal.invoices.context import billing_of
from portal.mandates.service import find_mandate
from portal.merchants.models import Merchant
from portal.payments.service import find_customer
from portal.subscriptions.lifecycle import IllegalSubscriptionTransition
from portal.subscriptions.models import Subscription, SubscriptionStatus
from portal.subscriptions.service import (
    BulkRefused,
    IgnoredRepeat,
    SubscriptionError,
    SubscriptionSpec,
    apply_all,
    change_plan,
    find_plan,
    find_subscription,
    merchant_subscriptions,
    pause_subscription,
    resume_subscription,
    start_subscription,
    stop_subscription,
)


def _subscription(subscription_id: str) -> Subscription:
    subscription = find_subscription(get_session(), merchant_id(), subscription_id)
    if subscription is None:
        raise not_found("subscription")
    return subscription


def subscription_from_body(session: Session, merchant: Merchant, data: dict[str, Any], *,
                           actor: str, now: datetime) -> Subscription:
    """The subscription a validated ``SUBSCRIPTION_FIELDS`` body starts; a 422 :class:`Problem`
    naming the field at fault. The API and the console both start them so."""
    customer = customer_of(session, merchant.id, data)
    plan = find_plan(session, merchant.id, data["plan"])
    if plan is None:
        raise no_such("plan", "plan")
    mandate = None
    if "mandate" in data:
        mandate = find_mandate(session, merchant.id, data["mandate"])
        if mandate is None:
            raise no_such("mandate", "mandate")
    try:
        return start_subscription(
            session, merchant, SubscriptionSpec(
                customer=customer, plan=plan, start_date=data.get("start_date"),
                anchor_day=data.get("anchor_day"), mandate=mandate,
                offer_mandate=data.get("offer_mandate", False),
                external_reference=data.get("external_reference")),
            actor=actor, now=now, billing=billing_of(current_app))
    except SubscriptionError as exc:
        raise field_problem(exc.field, str(exc)) from None


@bp.post("/subscriptions")
@require_scope("billing:write")
@write_endpoint
def start_subscription_view(body: Any) -> Response:
    data = validate_body(SUBSCRIPTION_FIELDS, body)
    session = get_session()
    subscription = subscription_from_body(session, session.get(Merchant, merchant_id()), data,
                                          actor=g.api_actor, now=get_adapters().clock())
    return json_response(subscription_json(subscription), 201)  # Location: the one place for every 201


@bp.get("/subscriptions")
@require_scope("billing:read")
def list_subscriptions() -> Response:
    params = read_query(SUBSCRIPTION_LIST_PARAMS)
    session = get_session()
    query = merchant_subscriptions(
        merchant_id(),
        status=SubscriptionStatus(params["status"]) if "status" in params else None,
        customer_id=filter_id(session, merchant_id(), params, "customer_id", find_customer),
        plan_id=filter_id(session, merchant_id(), params, "plan", find_plan),
        external_reference=params.get("external_reference"))
    page = paginate(session, query, Subscription, merchant_id(), anchor(params),
                    params.get("limit", DEFAULT_LIMIT), newest_first=True)
    return json_response(list_json([subscription_json(s) for s in page.items], page.has_more,
                                   page.next_cursor))


@bp.get("/subscriptions/<subscription_id>")
@require_scope("billing:read")
def get_subscription(subscription_id: str) -> Response:
    return json_response(subscription_json(_subscription(subscription_id)))


# -- Changes: one operation each, shared by the single and the bulk endpoints --------------------

Operation = Callable[[], Subscription]


def _operation(session: Session, action: str, subscription: Subscription,
               data: dict[str, Any], now: datetime, field: str = "") -> Operation:
    """The change asked for, ready to run; 422 naming ``field`` + the input at fault."""
    actor = g.api_actor
    if action == "pause":
        pause_from: date = data.get("pause_from") or bank_today(now)
        return lambda: pause_subscription(session, subscription, pause_from=pause_from,
                                          resume_on=data.get("resume_on"), actor=actor, now=now)
    if action == "resume":
        return lambda: resume_subscription(session, subscription,
                                           resume_on=data.get("resume_on"), actor=actor, now=now)
    if action == "stop":
        at_period_end = data["at"] == "period_end"
        return lambda: stop_subscription(session, subscription, at_period_end=at_period_end,
                                         actor=actor, now=now)
    plan = find_plan(session, merchant_id(), data["plan"])
    if plan is None:
        raise no_such(field + "plan", "plan")
    return lambda: change_plan(session, subscription, plan, actor=actor, now=now)


def _run_one(subscription_id: str, action: str, data: dict[str, Any]) -> Response:
    session = get_session()
    subscription = _subscription(subscription_id)
    operation = _operation(session, action, subscription, data, get_adapters().clock())
    try:
        operation()
    except SubscriptionError as exc:
        raise field_problem(exc.field, str(exc)) from None
    except IllegalSubscriptionTransition as exc:
        raise invalid_state(str(exc)) from None
    except IgnoredRepeat as exc:
        raise ignored_repeat(str(exc)) from None
    return json_response(subscription_json(subscription))


@bp.post("/subscriptions/<subscription_id>/pause")
@require_scope("billing:write")
@write_endpoint
def pause_subscription_view(body: Any, subscription_id: str) -> Response:
    return _run_one(subscription_id, "pause", validate_body(PAUSE_FIELDS, body))


@bp.post("/subscriptions/<subscription_id>/resume")
@require_scope("billing:write")
@write_endpoint
def resume_subscription_view(body: Any, subscription_id: str) -> Response:
    return _run_one(subscription_id, "resume", validate_body(RESUME_FIELDS, body))


@bp.post("/subscriptions/<subscription_id>/stop")
@require_scope("billing:write")
@write_endpoint
def stop_subscription_view(body: Any, subscription_id: str) -> Response:
    return _run_one(subscription_id, "stop", validate_body(STOP_FIELDS, body))


@bp.post("/subscriptions/<subscription_id>/change-plan")
@require_scope("billing:write")
@write_endpoint
def change_plan_view(body: Any, subscription_id: str) -> Response:
    return _run_one(subscription_id, "change_plan", validate_body(CHANGE_PLAN_FIELDS, body))


def _bulk_fields(position: int, item: dict[str, Any]) -> list[dict[str, str]]:
    """What is missing or does not belong to the item's action."""
    where, allowed = f"operations[{position}].", BULK_ACTIONS[item["action"]]
    errors = [{"field": where + name, "message": f"Not a field of {item['action']}."}
              for name in item if name not in ("action", "subscription", *allowed)]
    errors += [{"field": where + name, "message": "This field is required."}
               for name in ("at", "plan") if name in allowed and name not in item]
    return errors


@bp.post("/subscriptions/bulk")
@require_scope("billing:write")
@write_endpoint
def bulk_subscriptions_view(body: Any) -> Response:
    items = validate_body(BULK_FIELDS, body)["operations"]
    session, now = get_session(), get_adapters().clock()
    errors = [error for position, item in enumerate(items)
              for error in _bulk_fields(position, item)]
    if errors:
        raise validation_problem(errors)
    operations: list[Operation] = []
    for position, item in enumerate(items):
        where = f"operations[{position}]."
        subscription = find_subscription(session, merchant_id(), item["subscription"])
        if subscription is None:
            errors.append({"field": where + "subscription",
                           "message": "No subscription with this id."})
            continue
        try:
            operations.append(_operation(session, item["action"], subscription, item, now,
                                         where))
        except Problem as problem:  # the plan named is not the merchant's
            errors.extend(problem.errors or [])
    if errors:
        raise validation_problem(errors, "Nothing was changed; see errors.")
    try:
        done = apply_all(session, operations)
    except BulkRefused as refused:
        raise validation_problem(refused.errors, "Nothing was changed; see errors.") from None
    unique = list({s.id: s for s in done}.values())
    return json_response(list_json([subscription_json(s) for s in unique], False, None))
