"""The bank route end to end on the injectable clock: debits exported as pain.008, cleared by
the sandbox bank on their collection date, its camt.054 imported; retries after temporary
failures, the consequences of permanent ones, the pay link after the last failure, a payment
before export, and mandate expiry (both databases)."""

from __future__ import annotations

from datetime import date, timedelta

from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.collections.cycle import run_collections
from portal.collections.models import (
    Batch,
    CollectionFlag,
    Debit,
    DebitAttempt,
    DebitStatus,
    FlagCode,
    ReturnImport,
    SandboxBankFile,
)
from portal.collections.routes import Collectors
from portal.collections.sandbox_bank import TEST_ACCOUNTS, outcome_for
from portal.collections.service import DebitRefused, apply_payment_before_export
from portal.events.models import Event
from portal.mandates.models import Invitation, InvitationChannel, MandateStatus
from portal.merchants.models import Merchant
from portal.sepa import validate_iban
from tests.collections.conftest import (
    Clock,
    PayLinkRecorder,
    active_mandate,
    debit_on,
    history,
    run_jobs,
)

AM04_ALWAYS, AM04_ONCE, MS03, AC04, MD01, MD06, SL01, AC01 = (a.iban for a in TEST_ACCOUNTS)


def run_until(app: Flask, collectors: Collectors, clock: Clock, last: date) -> None:
    """A collections run every morning up to ``last``, with the jobs it queues."""
    day = clock.now.date()
    while day <= last:
        clock.set_day(day, hour=8)
        run_collections(app, collectors, clock.now)
        run_jobs(app)
        day += timedelta(days=1)


def debit_events(session: Session, debit: Debit) -> list[tuple[str, dict]]:
    return [(e.type, e.data) for e in session.scalars(
        select(Event).where(Event.subject == debit.public_id).order_by(Event.id))]


def reload(session: Session, debit: Debit) -> Debit:
    session.expire_all()
    return session.get(Debit, debit.id)


def test_the_sandbox_test_accounts_are_valid_ibans_with_documented_outcomes() -> None:
    for account in TEST_ACCOUNTS:
        assert validate_iban(account.iban).iban == account.iban
    assert [outcome_for(AM04_ONCE, n) for n in range(3)] == ["AM04", None, None]
    assert outcome_for("NL91ABNA0417164300", 0) is None


def test_a_paid_collection_is_exported_cleared_on_its_date_and_collected(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors,
        clock: Clock) -> None:
    debit = debit_on(session, collectors, active_mandate(session, merchant), 2500)
    session.commit()
    run_until(app, collectors, clock, date(2026, 4, 6))
    debit = reload(session, debit)
    assert debit.status == DebitStatus.SUBMITTED  # exported, not yet due at the bank
    [batch] = session.scalars(select(Batch)).all()
    assert batch.delivered_to == "sandbox" and batch.transaction_count == 1
    run_until(app, collectors, clock, date(2026, 4, 7))
    assert reload(session, debit).status == DebitStatus.COLLECTED
    assert session.scalar(select(SandboxBankFile.cleared_at)) is not None
    report = session.scalar(select(ReturnImport))
    assert report.source == "sandbox-bank" and report.counts["collected"] == 1
    types = [t for t, _ in debit_events(session, debit)]
    assert types == ["debit.scheduled", "debit.submitted", "debit.collected"]
    # Running again changes nothing: the bank has nothing new, the debit is settled.
    run_until(app, collectors, clock, date(2026, 4, 9))
    assert session.scalar(select(ReturnImport.id).where(ReturnImport.id != report.id)) is None


def test_am04_is_retried_a_second_and_third_time_then_the_customer_gets_a_pay_link(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder) -> None:
    debit = debit_on(session, collectors, active_mandate(session, merchant, iban=AM04_ALWAYS),
                     4500)
    session.commit()
    run_until(app, collectors, clock, date(2026, 4, 7))
    debit = reload(session, debit)
    # 5 days after 7 April, then the day after the next payday (25 April, a Saturday): Monday.
    assert (debit.status, debit.attempt, debit.collection_date) == (
        DebitStatus.SCHEDULED, 2, date(2026, 4, 27))
    run_until(app, collectors, clock, date(2026, 4, 27))
    debit = reload(session, debit)
    # 10 days after 27 April, then the day after 25 May.
    assert (debit.status, debit.attempt, debit.collection_date) == (
        DebitStatus.SCHEDULED, 3, date(2026, 5, 26))
    assert pay_links.issued == []
    run_until(app, collectors, clock, date(2026, 5, 26))
    debit = reload(session, debit)
    assert (debit.status, debit.attempt, debit.reason_code, debit.will_retry) == (
        DebitStatus.RETURNED, 3, "AM04", False)
    assert pay_links.issued == [(debit.public_id, 4500)]
    assert debit.pay_link == f"http://localhost/pay/{debit.public_id}"
    events = debit_events(session, debit)
    assert [t for t, _ in events] == [
        "debit.scheduled", "debit.submitted", "debit.failed", "debit.retry_scheduled",
        "debit.submitted", "debit.failed", "debit.retry_scheduled", "debit.submitted",
        "debit.failed"]
    failures = [data for t, data in events if t == "debit.failed"]
    assert [(f["reason_code"], f["will_retry"], f["retry_collection_date"]) for f in failures] \
        == [("AM04", True, "2026-04-27"), ("AM04", True, "2026-05-26"), ("AM04", False, None)]
    assert failures[-1]["pay_link"] == debit.pay_link
    attempts = session.scalars(select(DebitAttempt).where(DebitAttempt.debit_id == debit.id)
                               .order_by(DebitAttempt.number)).all()
    assert [(a.number, a.sequence_type.value, a.collection_date) for a in attempts] == [
        (1, "FRST", date(2026, 4, 7)), (2, "FRST", date(2026, 4, 27)),
        (3, "FRST", date(2026, 5, 26))]  # never used: still a first collection
    assert len({a.end_to_end_id for a in attempts}) == 3


def test_a_retry_that_succeeds_teaches_the_debtors_usual_day(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder) -> None:
    mandate = active_mandate(session, merchant, iban=AM04_ONCE)
    history(session, mandate, on=date(2026, 2, 3))
    history(session, mandate, on=date(2026, 1, 5))
    debit = debit_on(session, collectors, mandate, 1999)
    session.commit()
    run_until(app, collectors, clock, date(2026, 4, 7))
    debit = reload(session, debit)
    # Usual successful days were the 3rd and the 5th: the earliest of the most common wins.
    assert (debit.attempt, debit.collection_date) == (2, date(2026, 5, 4))  # 3 May is a Sunday
    run_until(app, collectors, clock, date(2026, 5, 4))
    assert reload(session, debit).status == DebitStatus.COLLECTED
    assert pay_links.issued == []


def test_ac04_never_retries_marks_the_mandate_unusable_and_invites_a_new_account(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder) -> None:
    mandate = active_mandate(session, merchant, iban=AC04)
    debit = debit_on(session, collectors, mandate, 3000)
    session.commit()
    run_until(app, collectors, clock, date(2026, 4, 7))
    debit = reload(session, debit)
    assert (debit.status, debit.reason_code, debit.will_retry) == (
        DebitStatus.RETURNED, "AC04", False)
    flag = session.scalar(select(CollectionFlag).where(CollectionFlag.mandate_id == mandate.id))
    assert flag.code == FlagCode.ACCOUNT_CLOSED and flag.invitation_id is not None
    invitation = session.get(Invitation, flag.invitation_id)
    assert invitation.channel == InvitationChannel.EMAIL
    assert invitation.mandate.customer_id == mandate.customer_id
    assert invitation.mandate.status == MandateStatus.INVITED
    assert invitation.delivery_status.value == "sent"  # the job mailed it
    [unusable] = session.scalars(select(Event).where(Event.type == "mandate.unusable")).all()
    assert unusable.data["amendment_invitation"] == invitation.public_id
    assert pay_links.issued == [(debit.public_id, 3000)]
    try:
        debit_on(session, collectors, session.get(type(mandate), mandate.id))
    except DebitRefused as refused:
        assert refused.code == "mandate_unusable"
    else:
        raise AssertionError("a mandate with a closed account was collected from again")


def test_md01_revokes_md06_records_the_refund_sl01_flags_the_customer(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        pay_links: PayLinkRecorder) -> None:
    md01 = debit_on(session, collectors, active_mandate(session, merchant, iban=MD01))
    md06 = debit_on(session, collectors, active_mandate(session, merchant, iban=MD06))
    sl01 = debit_on(session, collectors, active_mandate(session, merchant, iban=SL01))
    ms03 = debit_on(session, collectors, active_mandate(session, merchant, iban=MS03))
    session.commit()
    run_until(app, collectors, clock, date(2026, 4, 7))
    md01, md06, sl01, ms03 = (reload(session, d) for d in (md01, md06, sl01, ms03))
    assert md01.status == DebitStatus.RETURNED and md01.mandate.status == MandateStatus.REVOKED
    assert md06.status == DebitStatus.REFUNDED and md06.mandate.status == MandateStatus.ACTIVE
    assert [t for t, _ in debit_events(session, md06)][-1] == "debit.refunded"
    assert sl01.status == DebitStatus.RETURNED and not sl01.will_retry
    assert session.scalar(select(CollectionFlag.code).where(
        CollectionFlag.customer_id == sl01.customer_id)) == FlagCode.DEBTOR_BANK_SERVICE
    assert session.scalar(select(Event.type).where(Event.subject == sl01.customer.public_id)) \
        == "customer.flagged"
    assert (ms03.status, ms03.attempt) == (DebitStatus.SCHEDULED, 2)  # MS03 is temporary
    assert sorted(pay_links.issued) == sorted([(md01.public_id, md01.amount_cents),
                                               (sl01.public_id, sl01.amount_cents)])


def test_a_partial_payment_before_export_reduces_what_the_file_collects(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors,
        clock: Clock) -> None:
    partly = debit_on(session, collectors, active_mandate(session, merchant), 5000)
    fully = debit_on(session, collectors, active_mandate(session, merchant), 2000)
    apply_payment_before_export(session, partly, 1500, actor="test", source="preq_1")
    apply_payment_before_export(session, fully, 2000, actor="test", source="preq_2")
    session.commit()
    run_until(app, collectors, clock, date(2026, 4, 7))
    [batch] = session.scalars(select(Batch)).all()
    assert (batch.transaction_count, batch.control_sum_cents) == (1, 3500)
    assert reload(session, partly).status == DebitStatus.COLLECTED
    assert reload(session, fully).status == DebitStatus.CANCELLED


def test_a_mandate_unused_for_36_months_expires_one_used_recently_does_not(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors,
        clock: Clock) -> None:
    stale = active_mandate(session, merchant, signed_on=date(2023, 3, 1))
    used = active_mandate(session, merchant, signed_on=date(2023, 1, 1))
    history(session, used, on=date(2023, 6, 1))
    fresh = active_mandate(session, merchant, signed_on=date(2023, 4, 1))
    session.commit()
    summary = run_collections(app, collectors, clock.now)
    assert summary.expired_mandates == [stale.public_id]
    session.expire_all()
    assert [m.status for m in (stale, used, fresh)] == [
        MandateStatus.EXPIRED, MandateStatus.ACTIVE, MandateStatus.ACTIVE]
    assert session.scalar(select(Event.type).where(Event.subject == stale.public_id)
                          .order_by(Event.id.desc()).limit(1)) == "mandate.expired"


def test_after_the_last_failure_the_customer_gets_the_checkouts_pay_link_by_email(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors, clock: Clock,
        outbox) -> None:
    from portal.payments.models import PaymentRequest

    debit = debit_on(session, collectors, active_mandate(session, merchant, iban=AC04), 3100,
                     invoice_number="2026-0099")
    session.commit()
    run_until(app, collectors, clock, date(2026, 4, 7))
    debit = reload(session, debit)
    request = session.scalar(select(PaymentRequest).where(
        PaymentRequest.public_id == debit.payment_request))
    assert (request.amount_cents, request.customer_id, request.invoice_number) == (
        3100, debit.customer_id, "2026-0099")
    assert debit.pay_link and "/pay/" in debit.pay_link
    mails = [p.read_text(errors="replace") for p in outbox.glob("*.eml")]
    assert any("/pay/" in mail for mail in mails)
    failed = [data for t, data in debit_events(session, debit) if t == "debit.failed"]
    assert failed[-1]["pay_link"] == debit.pay_link


def test_a_payment_on_the_debits_payment_request_before_export_lowers_or_cancels_it(
        app: Flask, session: Session, merchant: Merchant, collectors: Collectors,
        clock: Clock) -> None:
    from datetime import timedelta as delta

    from portal.payments.service import (
        PaymentSettings,
        RequestSpec,
        create_payment_request,
        record_external_payment,
    )

    def request_for(mandate, amount):
        return create_payment_request(session, merchant, RequestSpec(
            amount_cents=amount, description="Invoice", customer=mandate.customer,
            expires_at=clock.now + delta(days=30), allow_partial=True), actor="test",
            now=clock.now, settings=PaymentSettings())

    partly_mandate = active_mandate(session, merchant)
    fully_mandate = active_mandate(session, merchant)
    partly_request = request_for(partly_mandate, 5000)
    fully_request = request_for(fully_mandate, 2000)
    partly = debit_on(session, collectors, partly_mandate, 5000,
                      payment_request=partly_request.public_id)
    fully = debit_on(session, collectors, fully_mandate, 2000,
                     payment_request=fully_request.public_id)
    record_external_payment(session, partly_request, 1500, method="banktransfer",
                            reference="x", actor="test", now=clock.now)
    record_external_payment(session, fully_request, 2000, method="banktransfer",
                            reference="y", actor="test", now=clock.now)
    session.commit()
    run_until(app, collectors, clock, date(2026, 4, 7))
    [batch] = session.scalars(select(Batch)).all()
    assert (batch.transaction_count, batch.control_sum_cents) == (1, 3500)
    assert reload(session, partly).amount_cents == 3500
    assert reload(session, fully).status == DebitStatus.CANCELLED
