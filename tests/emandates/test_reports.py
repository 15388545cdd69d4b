"""What the bank's report may change: an accepted pain.012 that is ours activates the mandate
once, with the account and signer it names; every other report is refused and changes nothing.
Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.banks import Product, TransactionStatus, pain
from portal.banks.certificates import create_signing_pair
from portal.banks.pain import Party
from portal.clock import utcnow
from portal.documents.service import PDF_JOB
from portal.emandates.models import BankOutcome, BankTransaction
from portal.emandates.reports import evidence_report, stored_report
from portal.emandates.service import BankSettings, refresh_status
from portal.events.models import Event
from portal.jobs.models import Job
from portal.mail.service import MANDATE_COPY_JOB
from portal.mandates.models import Mandate, MandateStatus, Scheme, SigningMethod
from portal.mandates.service import debtor_iban
from tests.banks.forgery import (
    ForgingAcquirer,
    request_details,
    signed_report,
    status_message,
)
from tests.banks.test_refusals import BOMB, EXTERNAL
from tests.emandates.conftest import awaiting_bank, creditor_of, open_transaction


def settle(session: Session, transaction: BankTransaction, answer: bytes,
           settings: BankSettings) -> BankOutcome:
    bank = ForgingAcquirer(answer).client()
    return refresh_status(session, bank, transaction, source="return", now=utcnow(),
                          settings=settings)


def snapshot(session: Session, mandate_id: int) -> tuple:
    session.expire_all()
    mandate = session.get(Mandate, mandate_id)
    events = session.scalars(select(Event.type).where(Event.subject == mandate.public_id)).all()
    return (mandate.status, mandate.iban_hash, mandate.bic, mandate.debtor_name,
            mandate.signing_method, mandate.validation_reference, mandate.version, tuple(events))


def test_an_accepted_matching_report_activates_with_the_banks_details(
        session: Session, settings: BankSettings) -> None:
    invitation = awaiting_bank(session)
    mandate = invitation.mandate
    transaction = open_transaction(session, invitation)
    report = signed_report(request_details(mandate.reference), creditor=creditor_of(mandate))

    assert settle(session, transaction, status_message(report), settings) is BankOutcome.ACCEPTED

    session.expire_all()
    mandate = session.get(Mandate, mandate.id)
    assert mandate.status == MandateStatus.ACTIVE
    assert mandate.signing_method == SigningMethod.BANK_EMANDATE
    assert debtor_iban(session, mandate) == "NL20INGB0001234567"  # the bank's, not the typed one
    assert mandate.bic == "INGBNL2A"
    assert mandate.debtor_name == "De Vries Holding B.V."
    assert mandate.signer_name == "J. de Vries"
    assert mandate.validation_reference == "VAL-0001"
    assert mandate.evidence["validation_reference"] == "VAL-0001"
    assert mandate.evidence["iban_changed"] is True
    stored = session.get(BankTransaction, transaction.id)
    assert stored.report_ciphertext.startswith("v1.") and b"NL20" not in (
        stored.report_ciphertext.encode())
    document = stored_report(session, stored)  # decrypted: the bank's bytes exactly
    assert document is not None and b"<ds:Signature" in document
    assert hashlib.sha256(document).hexdigest() == mandate.evidence["pain012_sha256"]
    assert evidence_report(session, mandate.evidence) == document
    assert "pain012" not in mandate.evidence  # the evidence names it, never holds it
    # The one activation path: the sealed PDF and the customer's copy are queued with it.
    queued = session.scalars(select(Job.dedupe_key).where(Job.kind.in_(
        (PDF_JOB, MANDATE_COPY_JOB)))).all()
    assert sorted(queued) == sorted([f"{PDF_JOB}:{mandate.public_id}",
                                     f"{MANDATE_COPY_JOB}:{mandate.public_id}"])
    assert session.get(BankTransaction, transaction.id).validation_reference == "VAL-0001"
    events = session.scalars(select(Event.type).where(Event.subject == mandate.public_id)).all()
    assert events.count("mandate.active") == 1
    # A second answer (the background poll after the return) changes nothing more.
    assert settle(session, session.get(BankTransaction, transaction.id),
                  status_message(report), settings) is BankOutcome.ACCEPTED
    assert session.scalars(select(Event.type).where(
        Event.subject == mandate.public_id)).all().count("mandate.active") == 1


def _forged(mandate: Mandate, case: str) -> bytes:
    creditor = creditor_of(mandate)
    if case == "broken bank signature":
        report = signed_report(request_details(mandate.reference), creditor=creditor)
        report.find(".//{*}UltmtDbtr/{*}Nm").text = "M. Allory"
        return status_message(report)
    if case == "unknown acquirer certificate":
        return status_message(signed_report(request_details(mandate.reference),
                                            creditor=creditor),
                              acquirer=create_signing_pair("impostor"))
    if case == "other mandate reference":
        return status_message(signed_report(request_details("SOMEONE-ELSES"),
                                            creditor=creditor))
    if case == "other creditor":
        return status_message(signed_report(request_details(mandate.reference), creditor=Party(
            "DE98ZZZ09999999999", "Someone Else GmbH", "DE", ("Strasse 1",))))
    if case == "CORE for B2B":
        return status_message(signed_report(request_details(mandate.reference, "CORE"),
                                            creditor=creditor))
    if case == "entity bomb":
        return BOMB
    if case == "external entity":
        return EXTERNAL
    raise AssertionError(case)


@pytest.mark.parametrize("case", [
    "broken bank signature", "unknown acquirer certificate", "other mandate reference",
    "other creditor", "CORE for B2B", "entity bomb", "external entity"])
def test_a_refused_report_changes_nothing(session: Session, settings: BankSettings,
                                          case: str) -> None:
    invitation = awaiting_bank(session, Scheme.B2B)
    mandate = invitation.mandate
    transaction = open_transaction(session, invitation)
    before = snapshot(session, mandate.id)

    assert settle(session, transaction, _forged(mandate, case), settings) is BankOutcome.REFUSED

    assert snapshot(session, mandate.id) == before
    session.expire_all()
    refused = session.get(BankTransaction, transaction.id)
    assert refused.outcome == "refused" and refused.reason
    assert refused.report_ciphertext is None and refused.validation_reference is None
    assert session.scalar(select(AuditEvent).where(
        AuditEvent.subject == mandate.public_id, AuditEvent.action == "bank.report_refused"))


@pytest.mark.parametrize(("status", "outcome", "event"), [
    ("Cancelled", BankOutcome.CANCELLED, "mandate.bank_cancelled"),
    ("Expired", BankOutcome.EXPIRED, "mandate.bank_expired"),
    ("Failure", BankOutcome.FAILED, "mandate.bank_failed"),
    ("Pending", BankOutcome.PENDING, "mandate.bank_pending"),
])
def test_other_statuses_leave_the_mandate_awaiting_with_one_event_each(
        session: Session, settings: BankSettings, status: str, outcome: BankOutcome,
        event: str) -> None:
    invitation = awaiting_bank(session, Scheme.CORE)
    transaction = open_transaction(session, invitation)
    answer = status_message(None, status=TransactionStatus(status), product=Product.CORE)
    for _ in range(2):  # asked twice: one event
        assert settle(session, session.get(BankTransaction, transaction.id), answer,
                      settings) is outcome
    session.expire_all()
    mandate = session.get(Mandate, invitation.mandate_id)
    assert mandate.status == MandateStatus.AWAITING_VERIFICATION
    events = session.scalars(select(Event).where(Event.subject == mandate.public_id,
                                                 Event.type == event)).all()
    assert len(events) == 1
    assert events[0].data["outcome"] == outcome.value


def test_a_signer_without_authority_is_its_own_outcome(session: Session,
                                                       settings: BankSettings) -> None:
    invitation = awaiting_bank(session, Scheme.B2B)
    mandate = invitation.mandate
    transaction = open_transaction(session, invitation)
    document = pain.acceptance_report(
        request_details(mandate.reference), message_id="ACC1", now=utcnow(),
        validation_reference=None, accepted=False, reject_reason="SIGNER_NOT_AUTHORISED",
        creditor=creditor_of(mandate), debtor_name="X", debtor_iban="NL20INGB0001234567",
        debtor_bic="INGBNL2A", signer_name="Intern")
    envelope = pain.signature_envelope(document)
    envelope.getparent().getparent().remove(envelope.getparent())
    outcome = settle(session, transaction, status_message(document), settings)
    assert outcome is BankOutcome.NOT_AUTHORISED
    session.expire_all()
    assert session.get(Mandate, mandate.id).status == MandateStatus.AWAITING_VERIFICATION
    assert session.scalar(select(Event).where(Event.subject == mandate.public_id,
                                              Event.type == "mandate.bank_not_authorised"))
