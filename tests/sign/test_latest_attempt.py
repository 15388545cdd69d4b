"""The latest attempt of both signing methods, read in one query: the newest of those on offer,
each with what the pages show of it (a bank's message for the debtor included)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.orm import Session

from portal.emandates.models import BankOutcome, BankTransaction
from portal.ids import new_public_id
from portal.mandates.models import MandateStatus, SigningMethod
from portal.providers import PaymentStatus
from portal.sign.methods import (
    AttemptState,
    bank_attempt,
    latest_attempt,
    payment_attempt,
    recorded_attempt,
)
from portal.verification.models import VerificationPayment
from tests.factories import make_invitation

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


class _Flow:
    def __init__(self, method: SigningMethod) -> None:
        self.method = method


def _mandate_with_both(session: Session):
    invitation = make_invitation(session)
    mandate = invitation.mandate
    mandate.status = MandateStatus.AWAITING_VERIFICATION
    for status, minutes in ((PaymentStatus.FAILED, 0), (PaymentStatus.OPEN, 1)):
        session.add(VerificationPayment(
            public_id=new_public_id("pay"), merchant_id=mandate.merchant_id, mandate=mandate,
            provider="sandbox", amount_cents=1, currency="EUR", status=status,
            status_history=[], created_at=AT + timedelta(minutes=minutes),
            updated_at=AT))
    session.add(BankTransaction(
        public_id=new_public_id("btx"), merchant_id=mandate.merchant_id, mandate=mandate,
        bank="sandbox", product="core", kind="new", debtor_bic="INGBNL2A", message_id="m1",
        entrance_code="e1", outcome=BankOutcome.CANCELLED.value,
        consumer_message="Try again later.", status_history=[],
        expires_at=AT + timedelta(hours=1), created_at=AT + timedelta(minutes=2), updated_at=AT))
    session.commit()
    return mandate


def test_the_newest_attempt_of_the_methods_on_offer_and_each_as_read_alone(
        session: Session) -> None:
    mandate = _mandate_with_both(session)
    payment, bank = payment_attempt(session, mandate), bank_attempt(session, mandate)
    assert payment is not None and payment.state is AttemptState.OPEN
    assert bank is not None and bank.state is AttemptState.RETRY
    assert bank.outcome == "cancelled" and bank.message == "Try again later."
    both = {method: _Flow(method) for method in SigningMethod}
    found = latest_attempt(session, mandate, both)  # type: ignore[arg-type]
    assert found is not None and found[1] == bank and found[0] is both[SigningMethod.BANK_EMANDATE]
    assert recorded_attempt(session, mandate) == bank
    only_payment = {SigningMethod.PAYMENT_VERIFICATION: _Flow(SigningMethod.PAYMENT_VERIFICATION)}
    found = latest_attempt(session, mandate, only_payment)  # type: ignore[arg-type]
    assert found is not None and found[1] == payment
