"""Route 2 end to end on the injectable clock (both databases): a mandate signed with the one-cent
payment leaves a provider mandate; its debits are collected as recurring provider payments
(the sandbox provider, and the Mollie adapter against the local Mollie stub), their outcome
arrives by webhook or polling and goes through the debit's transition table: collected;
failed (AM04 → 2nd → 3rd attempt → pay link; AC04 → mandate unusable, no retry); charged
back (MD06: refunded by the debtor; another code: returned, and retried)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.audit.models import AuditEvent
from portal.collections.calendar import latest_submission_day
from portal.collections.cycle import run_collections
from portal.collections.models import CollectionFlag, Debit, DebitAttempt, DebitStatus, FlagCode
from portal.collections.provider_route import Applied, refresh_attempt
from portal.collections.routes import Collectors
from portal.collections.service import DebitRefused, configure_collections
from portal.events.models import Event
from portal.mandates.models import Mandate, MandateStatus
from portal.merchants.models import Merchant
from portal.payments.models import ProviderMandate, StoredMandateStatus
from portal.sandbox.models import SandboxPayment
from tests.api.conftest import make_caller
from tests.collections.conftest import Clock, PayLinkRecorder, debit_on, run_jobs
from tests.providers.mollie_stub import MollieStub, mollie_stub  # noqa: F401  (fixture)
from tests.reconfigure import reconfigure
from tests.sign.driver import Journey, csrf_token

ACCOUNT = "NL91ABNA0417164300"


def run_until(app: Flask, collectors: Collectors, clock: Clock, last: date) -> None:
    """A collections run every morning up to ``last``, with the jobs it queues."""
    day = clock.now.date()
    while day <= last:
        clock.set_day(day, hour=8)
        run_collections(app, collectors, clock.now)
        run_jobs(app)
        day += timedelta(days=1)


def provider_merchant(session: Session, mandate: Mandate) -> None:
    configure_collections(session, mandate.merchant_id, actor="test", route="provider")
    session.commit()


def signed_in_sandbox(journey: Journey, account: str = ACCOUNT) -> Mandate:
    """Signed with the one-cent payment at the sandbox provider: active, a provider mandate."""
    returned = journey.pay("paid", payer_iban=account)
    assert returned.status_code == 303, returned.data[:300]
    mandate = journey.mandate()
    assert mandate.status == MandateStatus.ACTIVE
    return mandate


def current_attempt(session: Session, debit: Debit) -> DebitAttempt:
    session.expire_all()
    debit = session.get(Debit, debit.id)
    return debit.attempts[-1]


def reload(session: Session, debit: Debit) -> Debit:
    session.expire_all()
    return session.get(Debit, debit.id)


def debit_events(session: Session, debit: Debit) -> list[str]:
    return list(session.scalars(select(Event.type).where(Event.subject == debit.public_id)
                                .order_by(Event.id)))


def sandbox_action(client: FlaskClient, payment_id: str, action: str) -> None:
    """The tester settles a pending sandbox payment (or charges it back); the sandbox delivers
    its webhook in-process."""
    page = client.get(f"/sandbox/payments/{payment_id}")
    assert page.status_code == 200
    done = client.post(f"/sandbox/payments/{payment_id}",
                       data={"csrf_token": csrf_token(page), "action": action})
    assert done.status_code == 303, done.data[:300]


def test_sandbox_provider_am04_retries_twice_then_the_pay_link(
        app: Flask, clock: Clock, journey: Journey, session: Session, client: FlaskClient,
        collectors: Collectors, pay_links: PayLinkRecorder) -> None:
    mandate = signed_in_sandbox(journey)
    provider_merchant(session, mandate)
    debit = debit_on(session, collectors, mandate, 2500)
    session.commit()
    assert debit.route.value == "provider"

    run_until(app, collectors, clock, latest_submission_day(debit.collection_date) -
              timedelta(days=1))
    assert reload(session, debit).status == DebitStatus.SCHEDULED  # not before D-1
    for number in (1, 2, 3):
        debit = reload(session, debit)
        run_until(app, collectors, clock, latest_submission_day(debit.collection_date))
        attempt = current_attempt(session, debit)
        assert (attempt.number, attempt.provider) == (number, "sandbox")
        charge = session.scalars(select(SandboxPayment).where(
            SandboxPayment.payment_id == attempt.provider_payment_id)).one()
        assert (charge.sequence, charge.status.value, charge.amount_cents) == (
            "recurring", "pending", 2500)
        assert charge.metadata_["debit"] == debit.public_id
        assert reload(session, debit).status == DebitStatus.SUBMITTED
        sandbox_action(client, attempt.provider_payment_id, "failed")  # AM04 in the sandbox
        debit = reload(session, debit)
        assert debit.reason_code == "AM04"
        assert debit.will_retry is (number < 3)
    assert debit.status == DebitStatus.REJECTED and debit.attempt == 3
    assert pay_links.issued == [(debit.public_id, 2500)]
    assert debit_events(session, debit) == [
        "debit.scheduled", "debit.submitted", "debit.failed", "debit.retry_scheduled",
        "debit.submitted", "debit.failed", "debit.retry_scheduled", "debit.submitted",
        "debit.failed"]


def test_sandbox_provider_collected_then_charged_back_is_refunded_by_the_debtor(
        app: Flask, clock: Clock, journey: Journey, session: Session, client: FlaskClient,
        collectors: Collectors, pay_links: PayLinkRecorder) -> None:
    mandate = signed_in_sandbox(journey)
    provider_merchant(session, mandate)
    debit = debit_on(session, collectors, mandate, 4000)
    session.commit()
    run_until(app, collectors, clock, latest_submission_day(debit.collection_date))
    attempt = current_attempt(session, debit)
    sandbox_action(client, attempt.provider_payment_id, "paid")
    assert reload(session, debit).status == DebitStatus.COLLECTED
    sandbox_action(client, attempt.provider_payment_id, "chargeback")
    debit = reload(session, debit)
    assert (debit.status, debit.reason_code, debit.will_retry) == (
        DebitStatus.REFUNDED, "MD06", False)
    assert pay_links.issued == []  # the debtor took it back: no pay link
    assert debit_events(session, debit)[-2:] == ["debit.collected", "debit.refunded"]


def test_sandbox_provider_fails_like_the_sandbox_bank_test_accounts_ac04_is_permanent(
        app: Flask, clock: Clock, journey: Journey, session: Session, client: FlaskClient,
        collectors: Collectors, pay_links: PayLinkRecorder) -> None:
    mandate = signed_in_sandbox(journey, "NL44INGB0000000004")  # AC04 in the sandbox bank too
    provider_merchant(session, mandate)
    debit = debit_on(session, collectors, mandate, 2500)
    session.commit()
    run_until(app, collectors, clock, latest_submission_day(debit.collection_date))
    sandbox_action(client, current_attempt(session, debit).provider_payment_id, "failed")
    debit = reload(session, debit)
    assert (debit.status, debit.reason_code, debit.will_retry) == (
        DebitStatus.REJECTED, "AC04", False)
    assert pay_links.issued == [(debit.public_id, 2500)]
    assert session.scalars(select(ProviderMandate)).one().status == StoredMandateStatus.INVALID
    assert "mandate.unusable" in list(session.scalars(select(Event.type)))


def test_a_mandate_without_a_provider_mandate_is_refused_on_the_provider_route(
        app: Flask, clock: Clock, session: Session, collectors: Collectors) -> None:
    from tests.collections.conftest import active_mandate, collecting_merchant

    merchant = collecting_merchant(session, route="provider")
    mandate = active_mandate(session, merchant)
    with pytest.raises(DebitRefused) as refused:
        debit_on(session, collectors, mandate)
    assert refused.value.code == "no_provider_mandate"


def test_a_scheduled_debit_whose_provider_mandate_went_is_cancelled_saying_why(
        app: Flask, clock: Clock, journey: Journey, session: Session,
        collectors: Collectors) -> None:
    mandate = signed_in_sandbox(journey)
    provider_merchant(session, mandate)
    debit = debit_on(session, collectors, mandate)
    stored = session.scalars(select(ProviderMandate)).one()
    stored.status = StoredMandateStatus.INVALID
    session.commit()
    run_until(app, collectors, clock, latest_submission_day(debit.collection_date))
    debit = reload(session, debit)
    assert debit.status == DebitStatus.CANCELLED and debit.attempts == []
    cancelled = session.scalars(select(Event).where(Event.subject == debit.public_id,
                                                    Event.type == "debit.cancelled")).one()
    assert "no mandate" in cancelled.data["reason"]


# -- the Mollie adapter against the local Mollie stub -------------------------------------------


@pytest.fixture
def mollie_app(app: Flask, mollie_stub: MollieStub) -> Flask:  # noqa: F811
    return reconfigure(app, PAYMENT_PROVIDER="mollie", MOLLIE_API_KEY=mollie_stub.api_key,
                       MOLLIE_BASE_URL=mollie_stub.base_url)


def signed_at_mollie(journey: Journey, stub: MollieStub) -> Mandate:
    started = journey.submit()
    assert started.status_code == 303
    payment = journey.payments()[-1]
    stub.pay(payment.provider_payment_id, consumer_name="S. de Vries",
             consumer_account=ACCOUNT, consumer_bic="ABNANL2A")
    hook(journey.client, payment.provider_payment_id)
    mandate = journey.mandate()
    assert mandate.status == MandateStatus.ACTIVE
    return mandate


def hook(client: FlaskClient, payment_id: str) -> None:
    assert client.post("/providers/mollie/webhook", data={"id": payment_id}).status_code == 200


def submitted_at_mollie(app: Flask, clock: Clock, session: Session, collectors: Collectors,
                        debit: Debit, stub: MollieStub) -> tuple[DebitAttempt, dict]:
    run_until(app, collectors, clock, latest_submission_day(reload(session,
                                                                   debit).collection_date))
    attempt = current_attempt(session, debit)
    assert attempt.provider == "mollie" and attempt.provider_payment_id.startswith("tr_")
    return attempt, stub.payment(attempt.provider_payment_id)


def test_mollie_recurring_payment_collected_by_webhook_then_chargeback_md06(
        mollie_app: Flask, clock: Clock, journey: Journey, session: Session,
        collectors: Collectors, pay_links: PayLinkRecorder,
        mollie_stub: MollieStub) -> None:  # noqa: F811
    mandate = signed_at_mollie(journey, mollie_stub)
    stored = session.scalars(select(ProviderMandate)).one()
    assert stored.provider == "mollie" and stored.provider_mandate_ref.startswith("mdt_")
    provider_merchant(session, mandate)
    debit = debit_on(session, collectors, mandate, 1999, description="Invoice 2026-014")
    session.commit()
    attempt, created = submitted_at_mollie(mollie_app, clock, session, collectors, debit,
                                           mollie_stub)
    assert (created["sequenceType"], created["mandateId"], created["customerId"]) == (
        "recurring", stored.provider_mandate_ref, stored.provider_customer_id)
    assert created["amount"] == {"value": "19.99", "currency": "EUR"}
    assert created["webhookUrl"] == "http://localhost/providers/mollie/webhook"
    assert created["metadata"]["end_to_end_id"] == attempt.end_to_end_id
    posted = [r for r in mollie_stub.requests if (r.method, r.path) == ("POST", "/v2/payments")]
    assert posted[-1].headers.get("idempotency-key") == attempt.end_to_end_id

    mollie_stub.pay(attempt.provider_payment_id)
    hook(journey.client, attempt.provider_payment_id)
    hook(journey.client, attempt.provider_payment_id)  # a repeat changes nothing
    assert reload(session, debit).status == DebitStatus.COLLECTED
    api = make_caller(mollie_app, session, session.get(Merchant, mandate.merchant_id))
    shown = api.authorize().get(f"/api/v1/debits/{debit.public_id}").get_json()
    assert (shown["route"], shown["status"], shown["provider_payment"], shown["batch"]) == (
        "provider", "collected", attempt.provider_payment_id, None)
    mollie_stub.add_chargeback(attempt.provider_payment_id, code="MD06")
    hook(journey.client, attempt.provider_payment_id)
    debit = reload(session, debit)
    assert (debit.status, debit.reason_code) == (DebitStatus.REFUNDED, "MD06")
    assert debit_events(session, debit) == ["debit.scheduled", "debit.submitted",
                                            "debit.collected", "debit.refunded"]
    assert pay_links.issued == []


def test_mollie_failure_found_by_polling_retries_and_a_returned_chargeback_retries_too(
        mollie_app: Flask, clock: Clock, journey: Journey, session: Session,
        collectors: Collectors, pay_links: PayLinkRecorder,
        mollie_stub: MollieStub) -> None:  # noqa: F811
    mandate = signed_at_mollie(journey, mollie_stub)
    provider_merchant(session, mandate)
    debit = debit_on(session, collectors, mandate, 2500)
    session.commit()
    first, _ = submitted_at_mollie(mollie_app, clock, session, collectors, debit, mollie_stub)
    mollie_stub.fail_charge(first.provider_payment_id, "AM04")  # no webhook: the run polls
    clock.advance(hours=1)
    run_collections(mollie_app, collectors, clock.now)
    assert reload(session, debit).status == DebitStatus.SUBMITTED  # not polled before its date
    clock.set_day(first.collection_date, hour=8)
    run_collections(mollie_app, collectors, clock.now)
    debit = reload(session, debit)
    assert (debit.status, debit.attempt, debit.reason_code, debit.will_retry) == (
        DebitStatus.SCHEDULED, 2, "AM04", True)
    failed = session.scalars(select(Event).where(Event.subject == debit.public_id,
                                                 Event.type == "debit.failed")).one()
    assert failed.data["will_retry"] is True
    assert failed.data["retry_collection_date"] == debit.collection_date.isoformat()

    second, _ = submitted_at_mollie(mollie_app, clock, session, collectors, debit,
                                          mollie_stub)
    assert second.number == 2 and second.provider_payment_id != first.provider_payment_id
    mollie_stub.pay(second.provider_payment_id)
    hook(journey.client, second.provider_payment_id)
    hook(journey.client, first.provider_payment_id)  # the earlier attempt: nothing changes
    assert reload(session, debit).status == DebitStatus.COLLECTED
    mollie_stub.add_chargeback(second.provider_payment_id, code="AM04",
                               reason="Insufficient funds")
    hook(journey.client, second.provider_payment_id)
    debit = reload(session, debit)
    assert (debit.status, debit.attempt, debit.reason_code) == (DebitStatus.SCHEDULED, 3, "AM04")
    assert [a.outcome for a in debit.attempts] == [DebitStatus.REJECTED, DebitStatus.RETURNED]
    assert pay_links.issued == []


def test_mollie_ac04_marks_the_mandate_unusable_without_retry(
        mollie_app: Flask, clock: Clock, journey: Journey, session: Session,
        collectors: Collectors, pay_links: PayLinkRecorder,
        mollie_stub: MollieStub) -> None:  # noqa: F811
    mandate = signed_at_mollie(journey, mollie_stub)
    provider_merchant(session, mandate)
    debit = debit_on(session, collectors, mandate, 2500)
    session.commit()
    attempt, _ = submitted_at_mollie(mollie_app, clock, session, collectors, debit, mollie_stub)
    mollie_stub.fail_charge(attempt.provider_payment_id, "AC04")
    hook(journey.client, attempt.provider_payment_id)
    debit = reload(session, debit)
    assert (debit.status, debit.reason_code, debit.will_retry) == (
        DebitStatus.REJECTED, "AC04", False)
    assert pay_links.issued == [(debit.public_id, 2500)]
    flag = session.scalars(select(CollectionFlag)).one()
    assert (flag.code, flag.mandate_id) == (FlagCode.ACCOUNT_CLOSED, mandate.id)
    assert session.scalars(select(ProviderMandate)).one().status == StoredMandateStatus.INVALID
    with pytest.raises(DebitRefused):
        debit_on(session, collectors, mandate)


def test_mollie_outage_at_creation_leaves_the_debit_scheduled_for_the_next_run(
        mollie_app: Flask, clock: Clock, journey: Journey, session: Session,
        collectors: Collectors, mollie_stub: MollieStub) -> None:  # noqa: F811
    mandate = signed_at_mollie(journey, mollie_stub)
    provider_merchant(session, mandate)
    debit = debit_on(session, collectors, mandate, 2500)
    session.commit()
    clock.set_day(latest_submission_day(debit.collection_date), hour=8)
    mollie_stub.fail_next(1, status=503)
    run_collections(mollie_app, collectors, clock.now)
    debit = reload(session, debit)
    assert (debit.status, debit.attempts) == (DebitStatus.SCHEDULED, [])
    clock.advance(hours=1)
    run_collections(mollie_app, collectors, clock.now)
    assert reload(session, debit).status == DebitStatus.SUBMITTED


def test_a_provider_report_the_table_forbids_is_recorded_not_applied(
        mollie_app: Flask, clock: Clock, journey: Journey, session: Session,
        collectors: Collectors, mollie_stub: MollieStub) -> None:  # noqa: F811
    mandate = signed_at_mollie(journey, mollie_stub)
    provider_merchant(session, mandate)
    debit = debit_on(session, collectors, mandate, 2500)
    session.commit()
    attempt, _ = submitted_at_mollie(mollie_app, clock, session, collectors, debit, mollie_stub)
    mollie_stub.pay(attempt.provider_payment_id)
    hook(journey.client, attempt.provider_payment_id)
    mollie_stub.fail_charge(attempt.provider_payment_id, "AM04")  # paid, then failed: impossible
    with mollie_app.test_request_context():
        result = refresh_attempt(session, attempt, get_adapters(mollie_app).payment_provider, collectors,
                                 source="poll")
    assert result == Applied.INVALID
    assert reload(session, debit).status == DebitStatus.COLLECTED
    assert session.scalars(select(AuditEvent.action).where(
        AuditEvent.subject == debit.public_id, AuditEvent.action == "debit.invalid_report")).one()


def test_the_demo_simulation_runs_the_provider_route_through_the_sandbox_provider(
        app: Flask, clock: Clock, journey: Journey, session: Session,
        collectors: Collectors) -> None:
    from portal.collections.simulation import simulate

    mandate = signed_in_sandbox(journey, "NL98INGB0000000002")  # AM04 once, then paid
    provider_merchant(session, mandate)
    lines: list[str] = []
    status = simulate(app, mandate.public_id, amount_cents=1500, days=60, echo=lines.append)
    assert status == DebitStatus.COLLECTED
    kinds = [line.split()[1] for line in lines[1:]]
    assert kinds == ["debit.scheduled", "debit.submitted", "debit.failed",
                     "debit.retry_scheduled", "debit.submitted", "debit.collected"]
    assert "a recurring payment at the provider" in lines[2]
    assert "AM04" in lines[3] and "retry on" in lines[3]
    assert app.config["CLOCK"] is clock
