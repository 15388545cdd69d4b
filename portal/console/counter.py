"""Counter mode: where the customer at the counter stands with the invitation or payment request
shown on the tablet, as one state the screen (and its status endpoint) shows in large type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from portal.mandates.models import Invitation, MandateStatus
from portal.payments.models import Payment, PaymentRequest
from portal.payments.pages import outcome
from portal.sign.methods import Attempt, AttemptState, recorded_attempt


@dataclass(frozen=True)
class CounterState:
    #: waiting, opened, in_progress, retry, partly_paid, signed, paid, refunded, failed,
    #: expired, withdrawn, revoked
    name: str
    label: str
    #: Nothing more will happen on the customer's phone: the screen stops following.
    final: bool


WAITING = CounterState("waiting", "Scan the code with your phone", False)
_MANDATE = {
    MandateStatus.AWAITING_VERIFICATION: CounterState("in_progress", "Confirming with the bank…",
                                                      False),
    MandateStatus.ACTIVE: CounterState("signed", "Signed", True),
    MandateStatus.FAILED: CounterState("failed", "Failed", True),
    MandateStatus.EXPIRED: CounterState("expired", "Expired", True),
    MandateStatus.CANCELLED: CounterState("withdrawn", "Withdrawn", True),
    MandateStatus.REVOKED: CounterState("revoked", "Revoked", True),
}
_PAYMENT = {
    "open": WAITING,
    "pending": CounterState("in_progress", "Paying…", False),
    "failed": CounterState("retry", "Payment failed: try again on your phone", False),
    "cancelled": CounterState("retry", "Payment cancelled: try again on your phone", False),
    "attempt_expired": CounterState("retry", "Payment timed out: try again on your phone",
                                    False),
    "partly_paid": CounterState("partly_paid", "Partly paid", False),
    "paid": CounterState("paid", "Paid", True),
    "refunded": CounterState("refunded", "Refunded", True),
    "expired": CounterState("expired", "Expired", True),
    "withdrawn": CounterState("withdrawn", "Withdrawn", True),
}


_ATTEMPT = {
    AttemptState.OPEN: CounterState("in_progress", "In progress on the phone…", False),
    AttemptState.RETRY: CounterState("retry", "Not confirmed: try again on your phone", False),
}


def invitation_state(session: Session, invitation: Invitation, now: datetime) -> CounterState:
    """:func:`state_of_invitation` with its latest recorded signing attempt."""
    return state_of_invitation(invitation, now, recorded_attempt(session, invitation.mandate))


def state_of_invitation(invitation: Invitation, now: datetime,
                        attempt: Attempt | None = None) -> CounterState:
    """The mandate's status once the customer has signed (or it ended); while it awaits the
    provider or bank, the latest ``attempt`` (an abandoned or failed one cent shows as such, not
    as confirming forever); before that, whether the link still works and was opened."""
    status = invitation.mandate.status
    if status is MandateStatus.AWAITING_VERIFICATION and attempt is not None:
        return _ATTEMPT.get(attempt.state, _MANDATE[status])
    if status is not MandateStatus.INVITED:
        return _MANDATE[status]
    if invitation.withdrawn_at is not None:
        return _MANDATE[MandateStatus.CANCELLED]
    if invitation.expires_at <= now:
        return _MANDATE[MandateStatus.EXPIRED]
    if invitation.opened_at is not None:
        return CounterState("opened", "Opened on the phone", False)
    return WAITING


def _latest(request: PaymentRequest) -> Payment | None:
    return max(request.payments, key=lambda p: (p.created_at, p.id), default=None)


def request_state(request: PaymentRequest, now: datetime) -> CounterState:
    """The checkout's own outcome (:func:`portal.payments.pages.outcome`) of the latest try."""
    return _PAYMENT[outcome(request, _latest(request), now).name]
