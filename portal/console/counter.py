"""Counter mode: where the customer at the counter stands with the invitation or payment request
shown on the tablet, as one state the screen (and its status endpoint) shows in large type.

The tablet faces the customer, so the screen shows each label in the customer's language; here
the labels are the English message ids (marked with :func:`N_` for the catalogs), which the
console's own pages show as they are."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from portal.mandates.models import Invitation, MandateStatus
from portal.payments.models import Payment, PaymentRequest
from portal.payments.pages import outcome
from portal.sign.methods import Attempt, AttemptState, recorded_attempt


def N_(message: str) -> str:
    """Marks ``message`` for the catalogs (``pybabel extract`` knows ``N_``); translated where
    it is shown to the customer (:mod:`portal.console.counter_views`), not here."""
    return message


@dataclass(frozen=True)
class CounterState:
    #: waiting, opened, in_progress, retry, partly_paid, signed, paid, refunded, failed,
    #: expired, withdrawn, revoked
    name: str
    #: In English, the message id of the customer's language.
    label: str
    #: Nothing more will happen on the customer's phone: the screen stops following.
    final: bool


WAITING = CounterState("waiting", N_("Scan the code with your phone"), False)
_MANDATE = {
    MandateStatus.AWAITING_VERIFICATION: CounterState(
        "in_progress", N_("Confirming with the bank…"), False),
    MandateStatus.ACTIVE: CounterState("signed", N_("Signed"), True),
    MandateStatus.FAILED: CounterState("failed", N_("Failed"), True),
    MandateStatus.EXPIRED: CounterState("expired", N_("Expired"), True),
    MandateStatus.CANCELLED: CounterState("withdrawn", N_("Withdrawn"), True),
    MandateStatus.REVOKED: CounterState("revoked", N_("Revoked"), True),
}
_PAYMENT = {
    "open": WAITING,
    "pending": CounterState("in_progress", N_("Paying…"), False),
    "failed": CounterState("retry", N_("Payment failed: try again on your phone"), False),
    "cancelled": CounterState("retry", N_("Payment cancelled: try again on your phone"),
                              False),
    "attempt_expired": CounterState("retry",
                                    N_("Payment timed out: try again on your phone"), False),
    "partly_paid": CounterState("partly_paid", N_("Partly paid"), False),
    "paid": CounterState("paid", N_("Paid"), True),
    "refunded": CounterState("refunded", N_("Refunded"), True),
    "expired": CounterState("expired", N_("Expired"), True),
    "withdrawn": CounterState("withdrawn", N_("Withdrawn"), True),
}


_ATTEMPT = {
    AttemptState.OPEN: CounterState("in_progress", N_("In progress on the phone…"), False),
    AttemptState.RETRY: CounterState("retry", N_("Not confirmed: try again on your phone"),
                                     False),
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
        return CounterState("opened", N_("Opened on the phone"), False)
    return WAITING


def _latest(request: PaymentRequest) -> Payment | None:
    return max(request.payments, key=lambda p: (p.created_at, p.id), default=None)


def request_state(request: PaymentRequest, now: datetime) -> CounterState:
    """The checkout's own outcome (:func:`portal.payments.pages.outcome`) of the latest try."""
    return _PAYMENT[outcome(request, _latest(request), now).name]
