"""Scheduling debits: the date, the sequence type from history, refusals with their reasons,
the debtor's pre-notification, cancelling, and a payment before export (both databases)."""

from __future__ import annotations

import email
import email.policy
from datetime import date

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.collections.lifecycle import (
    TRANSITIONS,
    DebitAction,
    IllegalDebitTransition,
    apply_transition,
)
from portal.collections.models import CollectionFlag, DebitStatus, FlagCode, SeqType
from portal.collections.routes import Collectors
from portal.collections.service import (
    DebitRefused,
    apply_payment_before_export,
    cancel_debit,
    configure_collections,
)
from portal.events.models import Event
from portal.mandates.lifecycle import MandateAction
from portal.mandates.lifecycle import apply_transition as mandate_transition
from portal.mandates.models import Scheme, SequenceType, SigningMethod
from portal.merchants.models import Merchant
from tests.collections.conftest import Clock, active_mandate, debit_on, history, run_jobs
from tests.factories import make_merchant


def events(session: Session, subject: str) -> list[Event]:
    return list(session.scalars(select(Event).where(Event.subject == subject)
                                .order_by(Event.id)))


def test_a_debit_gets_the_first_valid_date_a_first_sequence_type_and_an_event(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors,
        clock: Clock) -> None:
    mandate = active_mandate(session, merchant)
    debit = debit_on(session, collectors, mandate, 2500, invoice_number="INV-1")
    session.commit()
    assert debit.status == DebitStatus.SCHEDULED
    assert debit.collection_date == date(2026, 4, 7)  # 14 days' notice, then Easter
    assert debit.sequence_type == SeqType.FIRST
    assert debit.public_id.startswith("dbt_")
    [event] = events(session, debit.public_id)
    assert event.type == "debit.scheduled"
    assert event.data["amount"] == 2500 and event.data["collection_date"] == "2026-04-07"


def test_a_used_mandate_gets_recurring_and_a_one_off_mandate_one_off(
        session: Session, merchant: Merchant, collectors: Collectors) -> None:
    used = active_mandate(session, merchant)
    history(session, used)
    assert debit_on(session, collectors, used).sequence_type == SeqType.RECURRING
    rejected_first = active_mandate(session, merchant)
    history(session, rejected_first, outcome=DebitStatus.REJECTED)
    assert debit_on(session, collectors, rejected_first).sequence_type == SeqType.FIRST
    one_off = active_mandate(session, merchant, sequence_type=SequenceType.ONE_OFF)
    assert debit_on(session, collectors, one_off).sequence_type == SeqType.ONE_OFF
    final = active_mandate(session, merchant)
    history(session, final)
    assert debit_on(session, collectors, final, final=True).sequence_type == SeqType.FINAL


def test_the_pre_notification_mails_amount_date_and_mandate_reference(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors,
        outbox) -> None:
    mandate = active_mandate(session, merchant)
    debit = debit_on(session, collectors, mandate, 1234)
    session.commit()
    run_jobs(app)
    [mail] = list(outbox.glob("*.eml"))
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    text = message.get_body(("plain",)).get_content()
    assert message["To"].endswith("<sam@example.org>")
    assert "12.34" in text and "April 7, 2026" in text
    assert mandate.reference in text and merchant.creditor_id in text
    session.refresh(debit)
    assert debit.prenotified_at is not None


def test_the_pre_notification_is_in_the_customers_language(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors,
        outbox) -> None:
    mandate = active_mandate(session, merchant)
    mandate.customer.locale = "nl"
    debit_on(session, collectors, mandate, 1234)
    session.commit()
    run_jobs(app)
    [mail] = list(outbox.glob("*.eml"))
    message = email.message_from_bytes(mail.read_bytes(), policy=email.policy.default)
    assert message["Content-Language"] == "nl"
    assert "7 april 2026" in message.get_body(("plain",)).get_content()


@pytest.mark.parametrize("code", ["mandate_revoked", "mandate_expired", "mandate_not_active",
                                  "mandate_unusable", "b2b_not_bank_confirmed",
                                  "amendment_pending", "over_b2b_maximum", "one_off_used",
                                  "final_collected", "no_creditor_account"])
def test_a_debit_is_refused_with_a_clear_reason(
        session: Session, merchant: Merchant, collectors: Collectors, code: str) -> None:
    mandate = active_mandate(session, merchant)
    amount = 2500
    if code == "mandate_revoked":
        mandate_transition(session, mandate, MandateAction.REVOKE, actor="test",
                           now=mandate.created_at)
    elif code == "mandate_expired":
        mandate_transition(session, mandate, MandateAction.EXPIRE, actor="test",
                           now=mandate.created_at)
    elif code == "mandate_not_active":
        from tests.factories import make_invitation

        mandate = make_invitation(session, merchant).mandate
    elif code in ("mandate_unusable", "amendment_pending"):
        flag = FlagCode.ACCOUNT_CLOSED if code == "mandate_unusable" \
            else FlagCode.AMENDMENT_PENDING
        session.add(CollectionFlag(merchant_id=merchant.id, customer_id=mandate.customer_id,
                                   mandate_id=mandate.id, code=flag, created_at=mandate.created_at))
    elif code == "b2b_not_bank_confirmed":
        mandate = active_mandate(session, merchant, scheme=Scheme.B2B,
                                 signing_method=SigningMethod.PAYMENT_VERIFICATION)
    elif code == "over_b2b_maximum":
        configure_collections(session, merchant.id, actor="test", b2b_max_amount_cents=100_000)
        mandate = active_mandate(session, merchant, scheme=Scheme.B2B)
        amount = 100_001
    elif code == "one_off_used":
        mandate = active_mandate(session, merchant, sequence_type=SequenceType.ONE_OFF)
        debit_on(session, collectors, mandate)
    elif code == "final_collected":
        debit_on(session, collectors, mandate, final=True)
    elif code == "no_creditor_account":
        merchant = make_merchant(session)
        mandate = active_mandate(session, merchant)
    with pytest.raises(DebitRefused) as refused:
        debit_on(session, collectors, mandate, amount)
    assert refused.value.code == code
    assert str(refused.value)  # a sentence for the merchant


def test_a_b2b_mandate_without_the_banks_validation_reference_is_not_collected(
        session: Session, merchant: Merchant, collectors: Collectors) -> None:
    """Signed at the bank is not enough: only an accepted pain.012 confirms a B2B mandate."""
    mandate = active_mandate(session, merchant, scheme=Scheme.B2B, validation_reference=None)
    assert mandate.signing_method == SigningMethod.BANK_EMANDATE
    with pytest.raises(DebitRefused) as refused:
        debit_on(session, collectors, mandate)
    assert refused.value.code == "b2b_not_bank_confirmed"


def test_a_b2b_mandate_is_collected_up_to_the_maximum_registered_at_the_bank(
        session: Session, merchant: Merchant, collectors: Collectors) -> None:
    configure_collections(session, merchant.id, actor="test", b2b_max_amount_cents=100_000)
    mandate = active_mandate(session, merchant, scheme=Scheme.B2B, max_amount_cents=50_000)
    with pytest.raises(DebitRefused) as refused:
        debit_on(session, collectors, mandate, 50_001)
    assert refused.value.code == "over_b2b_maximum"
    assert debit_on(session, collectors, mandate, 50_000).amount_cents == 50_000


def test_a_b2b_mandate_confirmed_by_the_bank_within_its_maximum_is_collected(
        session: Session, merchant: Merchant, collectors: Collectors) -> None:
    configure_collections(session, merchant.id, actor="test", b2b_max_amount_cents=100_000)
    mandate = active_mandate(session, merchant, scheme=Scheme.B2B)
    assert debit_on(session, collectors, mandate, 100_000).scheme == "B2B"


def test_cancelling_before_submission_and_not_after(
        session: Session, merchant: Merchant, collectors: Collectors) -> None:
    debit = debit_on(session, collectors, active_mandate(session, merchant))
    cancel_debit(session, debit, "customer paid cash", actor="test")
    assert debit.status == DebitStatus.CANCELLED
    assert [e.type for e in events(session, debit.public_id)][-1] == "debit.cancelled"
    with pytest.raises(IllegalDebitTransition):
        cancel_debit(session, debit, None, actor="test")


def test_a_partial_payment_before_export_reduces_the_debit_and_a_full_one_cancels_it(
        session: Session, merchant: Merchant, collectors: Collectors) -> None:
    debit = debit_on(session, collectors, active_mandate(session, merchant), 5000)
    apply_payment_before_export(session, debit, 2000, actor="test", source="preq_x")
    assert (debit.status, debit.amount_cents, debit.original_amount_cents) == (
        DebitStatus.SCHEDULED, 3000, 5000)
    assert events(session, debit.public_id)[-1].type == "debit.reduced"
    apply_payment_before_export(session, debit, 3000, actor="test", source="preq_x")
    assert debit.status == DebitStatus.CANCELLED
    audit = session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject == debit.public_id)).all()
    assert audit == ["debit.schedule", "debit.reduce", "debit.cancel"]


def test_a_payment_after_submission_cannot_reduce_the_debit(
        session: Session, merchant: Merchant, collectors: Collectors) -> None:
    debit = debit_on(session, collectors, active_mandate(session, merchant), 5000)
    apply_transition(session, debit, DebitAction.SUBMIT, actor="test")
    with pytest.raises(IllegalDebitTransition):
        apply_payment_before_export(session, debit, 100, actor="test", source="x")
    assert debit.amount_cents == 5000


def test_the_transition_table_allows_only_the_documented_moves() -> None:
    S = DebitStatus
    assert TRANSITIONS[(S.SCHEDULED, DebitAction.SUBMIT)] == S.SUBMITTED
    assert (S.COLLECTED, DebitAction.CANCEL) not in TRANSITIONS
    assert (S.CANCELLED, DebitAction.RETRY) not in TRANSITIONS
    assert {target for (_s, _a), target in TRANSITIONS.items()} == set(S)


def test_scheduling_starts_the_hourly_collections_run(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors,
        clock: Clock) -> None:
    from portal.collections.service import RUN_JOB
    from tests.collections.conftest import pending_jobs

    debit_on(session, collectors, active_mandate(session, merchant))
    debit_on(session, collectors, active_mandate(session, merchant))
    session.commit()
    assert len(pending_jobs(session, RUN_JOB)) == 1  # once per hour slot
    run_jobs(app)
    session.expire_all()
    [next_run] = pending_jobs(session, RUN_JOB)
    assert next_run.run_at > clock.now
