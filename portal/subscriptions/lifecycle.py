"""The subscription state machine: a table of allowed transitions and the one function applying
them, writing the audit event and the merchant event in the caller's transaction. A plan change
keeps the status (active or paused) and is a transition too, so it is recorded the same way."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from portal.audit.service import record_audit
from portal.events.service import emit_event
from portal.subscriptions.models import Subscription, SubscriptionStatus

S = SubscriptionStatus


class SubscriptionAction(enum.StrEnum):
    PAUSE = "pause"
    RESUME = "resume"
    STOP = "stop"
    #: Another plan from this period on, or another mandate or card token to collect on.
    CHANGE = "change"


A = SubscriptionAction

#: (current status, action) → next status. Anything absent is illegal.
TRANSITIONS: dict[tuple[SubscriptionStatus, SubscriptionAction], SubscriptionStatus] = {
    (S.ACTIVE, A.PAUSE): S.PAUSED,
    (S.PAUSED, A.RESUME): S.ACTIVE,
    (S.ACTIVE, A.STOP): S.STOPPED,
    (S.PAUSED, A.STOP): S.STOPPED,
    (S.ACTIVE, A.CHANGE): S.ACTIVE,
    (S.PAUSED, A.CHANGE): S.PAUSED,
}

EVENT_TYPES: dict[SubscriptionAction, str] = {
    A.PAUSE: "subscription.paused",
    A.RESUME: "subscription.resumed",
    A.STOP: "subscription.stopped",
    A.CHANGE: "subscription.changed",
}


class IllegalSubscriptionTransition(Exception):
    """The action is not allowed from the subscription's current status."""

    def __init__(self, status: SubscriptionStatus, action: SubscriptionAction) -> None:
        super().__init__(f"cannot {action.value} a subscription that is {status.value}")
        self.status = status
        self.action = action


def can_apply(subscription: Subscription, action: SubscriptionAction) -> bool:
    return (subscription.status, action) in TRANSITIONS


def apply_subscription_transition(session: Session, subscription: Subscription,
                                  action: SubscriptionAction, *, actor: str, now: datetime,
                                  data: dict[str, Any] | None = None) -> SubscriptionStatus:
    """Move the subscription, writing its audit event and merchant event together."""
    target = TRANSITIONS.get((subscription.status, action))
    if target is None:
        raise IllegalSubscriptionTransition(subscription.status, action)
    previous = subscription.status
    subscription.status = target
    subscription.updated_at = now
    details = {"from": previous.value, "to": target.value, **(data or {})}
    record_audit(session, action=f"subscription.{action.value}", subject=subscription.public_id,
                 actor=actor, merchant_id=subscription.merchant_id, data=details, now=now)
    emit_event(session, merchant_id=subscription.merchant_id, type=EVENT_TYPES[action],
               subject=subscription.public_id, now=now,
               data=subscription_event_data(subscription, {"previous_status": previous.value,
                                                           **(data or {})}))
    return target


def subscription_event_data(subscription: Subscription,
                            extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """What every subscription event carries: ids, status, plan, what it is collected on."""
    return {
        "subscription": subscription.public_id, "status": subscription.status.value,
        "customer": subscription.customer.public_id, "plan": subscription.plan.public_id,
        "mandate": subscription.mandate.public_id if subscription.mandate else None,
        "stored_mandate": subscription.stored_mandate.public_id
        if subscription.stored_mandate else None,
        **(extra or {}),
    }
