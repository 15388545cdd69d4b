"""The Core signing journey through the sandbox provider, from link to active mandate."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.audit.service import verify_chain
from portal.clock import utcnow
from portal.db import state
from portal.events.models import Event
from portal.jobs.service import run_due_jobs
from portal.mandates.models import MandateStatus, SigningMethod
from portal.mandates.service import debtor_iban
from portal.providers import PaymentStatus
from portal.sandbox.provider import SandboxProvider
from portal.verification.models import VerificationPayment
from portal.verification.service import Outcome, apply_provider_status
from tests.sign.driver import Journey, local


def _events(session: Session, subject: str) -> list[str]:
    session.expire_all()
    return list(session.scalars(select(Event.type).where(Event.subject == subject)
                                .order_by(Event.id)))


def test_page_shows_everything_a_core_mandate_needs(journey: Journey) -> None:
    page = journey.open(headers={"Accept-Language": "en"})
    merchant, mandate = journey.invitation.merchant, journey.invitation.mandate
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    for expected in (merchant.legal_name, merchant.address_line, merchant.city,
                     merchant.creditor_id, mandate.reference, "8 weeks", "Recurrent"):
        assert expected in text
    assert 'name="csrf_token"' in text and 'for="iban"' in text


def test_successful_signing_activates_the_mandate(journey: Journey) -> None:
    redirect = journey.pay("paid")
    assert redirect.status_code == 303 and local(redirect.headers["Location"]).endswith("/return")
    done = journey.follow(redirect)
    assert done.status_code == 200 and b"Active" in done.data
    assert journey.mandate().reference.encode() in done.data

    mandate = journey.mandate()
    assert mandate.status == MandateStatus.ACTIVE
    assert mandate.signing_method == SigningMethod.PAYMENT_VERIFICATION
    assert mandate.signed_at is not None and mandate.bic == "INGBNL2A"
    assert debtor_iban(journey.session, mandate) == "NL91ABNA0417164300"
    assert mandate.evidence["ip"] == "127.0.0.1" and mandate.evidence["text_version"]
    assert mandate.evidence["provider_payment_id"].startswith("tr_sbx")
    assert [h["status"] for h in mandate.evidence["payment_status_history"]] == ["open", "paid"]
    assert journey.session.get(type(journey.invitation), journey.invitation.id).used_at
    assert _events(journey.session, mandate.public_id) == [
        "mandate.created", "mandate.signed", "mandate.active"]
    assert _events(journey.session, journey.invitation.public_id) == ["invitation.opened"]
    assert verify_chain(journey.session).ok


def test_link_shows_already_signed_afterwards(journey: Journey) -> None:
    journey.follow(journey.pay("paid"))
    again = journey.open()
    assert again.status_code == 410
    assert b"Already signed" in again.data and journey.mandate().reference.encode() in again.data


def test_a_used_link_offers_the_pdf_again_for_as_long_as_its_retention_allows(
        journey: Journey, app: Flask) -> None:
    journey.follow(journey.pay("paid"))
    pending = journey.open()
    assert pending.status_code == 410 and b'data-pdf="pending"' in pending.data
    run_due_jobs(app)
    again = journey.open()
    assert b"Already signed" in again.data and b'id="pdf-link"' in again.data
    download = journey.client.get(f"{journey.path}/mandate.pdf")
    assert download.status_code == 200 and download.data.startswith(b"%PDF")

    signed_at = journey.mandate().signed_at
    app.config["CLOCK"] = lambda: signed_at + timedelta(days=30, seconds=1)
    later = journey.open()
    assert b"Already signed" in later.data and b"pdf-link" not in later.data
    gone = journey.client.get(f"{journey.path}/mandate.pdf")
    assert gone.status_code == 410 and b'data-reason="expired"' in gone.data
    assert journey.client.get(f"{journey.path}/status").get_json()["pdf_url"] is None


@pytest.mark.parametrize("outcome", ["failed", "canceled", "expired"])
def test_unsuccessful_payment_returns_to_the_form_and_a_retry_succeeds(
        journey: Journey, outcome: str) -> None:
    back = journey.follow(journey.pay(outcome))
    assert back.status_code == 200 and b'id="retry-notice"' in back.data
    assert journey.mandate().status == MandateStatus.AWAITING_VERIFICATION

    done = journey.follow(journey.pay("paid"))
    assert b"Active" in done.data
    assert [p.status for p in journey.payments()] == [PaymentStatus(outcome), PaymentStatus.PAID]
    assert journey.mandate().status == MandateStatus.ACTIVE


@pytest.mark.parametrize("outcome", ["failed", "canceled", "expired"])
def test_a_failed_cent_is_told_once_with_its_reason_and_a_retry_is_not_a_second_signature(
        journey: Journey, outcome: str) -> None:
    failed_return = journey.pay(outcome)
    journey.follow(failed_return)
    journey.client.get(local(failed_return.headers["Location"]))  # the return again
    payment = journey.payments()[-1]
    journey.client.post("/providers/sandbox/webhook", data={"id": payment.provider_payment_id})
    journey.follow(journey.pay("paid"))

    mandate = journey.mandate()
    assert _events(journey.session, mandate.public_id) == [
        "mandate.created", "mandate.signed", "mandate.verification_failed", "mandate.active"]
    failed = journey.session.scalar(select(Event).where(
        Event.type == "mandate.verification_failed"))
    assert failed.data == {"mandate": mandate.public_id, "status": "awaiting_verification",
                           "payment": payment.public_id, "reason": outcome}
    resubmits = journey.session.scalars(select(AuditEvent.data).where(
        AuditEvent.action == "mandate.submit", AuditEvent.subject == mandate.public_id)).all()
    assert len(resubmits) == 2  # the second consent is audited, not announced
    assert journey.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == f"verification.{outcome}")) == 1


def test_paying_from_another_account_makes_it_the_account_of_record(journey: Journey) -> None:
    done = journey.follow(journey.pay("paid", payer_iban="DE89 3704 0044 0532 0130 00"))
    assert b'id="iban-changed"' in done.data
    mandate = journey.mandate()
    assert debtor_iban(journey.session, mandate) == "DE89370400440532013000"
    assert mandate.evidence["iban_changed"] is True
    activation = journey.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "mandate.activate", AuditEvent.subject == mandate.public_id))
    assert activation.data["typed_iban_masked"].startswith("NL91")
    assert activation.data["reported_iban_masked"].startswith("DE89")
    assert activation.data["typed_iban_hash"] != activation.data["reported_iban_hash"]


def _pay_without_webhook(journey: Journey) -> str:
    journey.app.config["SANDBOX_AUTO_WEBHOOK"] = False
    redirect = journey.pay("paid")
    assert journey.mandate().status == MandateStatus.AWAITING_VERIFICATION
    return redirect.headers["Location"]


def test_webhook_before_return(journey: Journey) -> None:
    return_url = _pay_without_webhook(journey)
    payment = journey.payments()[-1]
    hook = journey.client.post("/providers/sandbox/webhook",
                               data={"id": payment.provider_payment_id})
    assert hook.status_code == 200 and journey.mandate().status == MandateStatus.ACTIVE
    done = journey.client.get(local(return_url), follow_redirects=True)
    assert b"Active" in done.data
    assert _events(journey.session, journey.mandate().public_id).count("mandate.active") == 1


def test_return_before_webhook(journey: Journey) -> None:
    return_url = _pay_without_webhook(journey)
    done = journey.client.get(local(return_url), follow_redirects=True)
    assert b"Active" in done.data
    payment = journey.payments()[-1]
    hook = journey.client.post("/providers/sandbox/webhook",
                               data={"id": payment.provider_payment_id})
    assert hook.status_code == 200
    assert _events(journey.session, journey.mandate().public_id).count("mandate.active") == 1
    assert [h["source"] for h in journey.payments()[-1].status_history] == ["create", "return"]


def _sandbox(session: Session) -> SandboxProvider:
    """The sandbox provider working in this session, as a service is handed it."""
    return SandboxProvider("http://localhost", session=lambda: session, clock=utcnow)


def test_concurrent_confirmations_activate_once(journey: Journey, app: Flask) -> None:
    _pay_without_webhook(journey)
    payment_id = journey.payments()[-1].id
    outcomes: list[Outcome | BaseException] = []
    barrier = threading.Barrier(4)

    def confirm() -> None:
        with state(app).factory() as session:
            payment = session.get(VerificationPayment, payment_id)
            barrier.wait()
            try:
                outcomes.append(apply_provider_status(
                    session, payment, _sandbox(session), source="webhook", clock=utcnow))
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                outcomes.append(exc)

    threads = [threading.Thread(target=confirm) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(map(str, outcomes)) == ["activated"] + ["already_active"] * 3
    mandate = journey.mandate()
    assert _events(journey.session, mandate.public_id).count("mandate.active") == 1
    assert journey.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "mandate.activate")) == 1
    assert verify_chain(journey.session).ok


def test_webhook_for_unknown_or_malformed_payment(journey: Journey) -> None:
    assert journey.client.post("/providers/sandbox/webhook",
                               data={"id": "tr_sbx0000000000000000"}).status_code == 200
    assert journey.client.post("/providers/sandbox/webhook", data={"id": "../x"}).status_code == 400
    assert journey.client.post("/providers/nope/webhook", data={"id": "x"}).status_code == 404


def test_confirmation_page_polls_a_status_endpoint(journey: Journey) -> None:
    return_url = _pay_without_webhook(journey)
    status_url = f"{journey.path}/status"
    assert journey.client.get(status_url).get_json()["status"] == "awaiting_verification"
    pending = journey.client.get(f"{journey.path}/done")
    assert b"Waiting for your bank" in pending.data and b"status.js" in pending.data
    journey.client.get(local(return_url))
    body = journey.client.get(status_url).get_json()
    assert body == {"status": "active", "reference": journey.mandate().reference,
                    "purpose": "sign", "method": "payment_verification", "attempt": "done",
                    "outcome": "paid", "retry": False, "pdf": "pending", "pdf_url": None}


def test_apply_is_idempotent(journey: Journey, app: Flask) -> None:
    journey.follow(journey.pay("paid"))
    payment = journey.payments()[-1]
    again = apply_provider_status(journey.session, payment, _sandbox(journey.session),
                                  source="webhook", clock=utcnow)
    assert again == Outcome.ALREADY_ACTIVE
