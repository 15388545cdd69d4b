"""What the invoice and subscription views share: the customer given by id or details, the
merchant's objects named in a body, and the billing problems."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.validation import validation_problem
from portal.errors import Problem
from portal.mandates.models import Customer
from portal.payments.service import CustomerDetails, find_customer
from portal.subscriptions.models import Subscription


def customer_of(session: Session, merchant_id: int, data: dict[str, Any]
                ) -> Customer | CustomerDetails:
    """Exactly one of ``customer`` (a new one) and ``customer_id``, else 422."""
    given = [name for name in ("customer", "customer_id") if name in data]
    if len(given) != 1:
        raise validation_problem([{"field": name, "message": "Give exactly one of customer "
                                   "and customer_id."} for name in ("customer", "customer_id")])
    if "customer_id" in data:
        customer = find_customer(session, merchant_id, data["customer_id"])
        if customer is None:
            raise validation_problem([{"field": "customer_id",
                                       "message": "No customer with this id."}])
        return customer
    details = data["customer"]
    return CustomerDetails(name=details["name"], email=details.get("email"),
                           phone=details.get("phone"), locale=details.get("locale"))


def no_such(field: str, kind: str) -> Problem:
    return validation_problem([{"field": field, "message": f"No {kind} with this id."}])


def field_problem(field: str, message: str) -> Problem:
    return validation_problem([{"field": field, "message": message}])


def invalid_state(message: str) -> Problem:
    return Problem(409, "Invalid state", message[:1].upper() + message[1:] + ".",
                   type="invalid-state")


def ignored_repeat(message: str) -> Problem:
    """Asked for what already is: nothing changed (distinct from an invalid transition)."""
    return Problem(409, "Nothing to change", f"Nothing changed: {message}.",
                   type="ignored-repeat")


def subscription_ids(session: Session, ids: set[int]) -> dict[int, str]:
    """Row id → public id of these subscriptions (for invoices that name theirs)."""
    if not ids:
        return {}
    rows = session.execute(select(Subscription.id, Subscription.public_id).where(
        Subscription.id.in_(ids)))
    return {row_id: public_id for row_id, public_id in rows}
