"""The iDx client against the sandbox bank over real HTTP: directory, a new mandate, every
status, the bank's signed pain.012, the acquirer's errors; every message schema-valid."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from flask import Flask

from portal.banks import BankRefused, BankResponseRefused, BankUnavailable, Product
from portal.banks import TransactionStatus as S
from portal.banks.base import MandateRequest
from portal.banks.certificates import create_signing_pair
from portal.banks.client import IdxBank
from portal.banks.sandbox.service import UNAVAILABLE_BIC
from tests.banks.conftest import Clock, Recorder, decide_at_bank, sandbox_settings

pytestmark = pytest.mark.slow


def mandate_request(product: Product = Product.B2B, bic: str = "INGBNL2A",
                    **overrides: object) -> MandateRequest:
    values: dict[str, object] = {
        "product": product, "debtor_bic": bic, "mandate_reference": "MP-TEST-0001",
        "reason": "Membership Demo Sportclub", "debtor_reference": "CUST-42",
        "purchase_id": "inv_test", "sequence_type": "RCUR",
        "max_amount_cents": 250000 if product is Product.B2B else None, "language": "nl",
        "entrance_code": "ec0123456789", "return_url": "http://127.0.0.1/return",
        "expiration": timedelta(hours=2), "message_id": "MSG0000000000001"}
    values.update(overrides)
    return MandateRequest(**values)  # type: ignore[arg-type]


def test_directory_lists_banks_in_three_countries_and_fewer_for_b2b(
        bank: IdxBank, recorder: Recorder) -> None:
    core = bank.directory(Product.CORE)
    b2b = bank.directory(Product.B2B)
    assert {b.country for b in core.banks} == {"Nederland", "België/Belgique", "Deutschland"}
    assert core.find("ABNANL2AXXX").name == "ABN AMRO"
    assert set(b2b.banks) < set(core.banks)
    assert recorder.assert_all_valid() == 4


def test_approved_b2b_mandate_is_pending_then_success_with_the_banks_signed_report(
        bank: IdxBank, clock: Clock, recorder: Recorder) -> None:
    started = bank.new_mandate(mandate_request())
    assert len(started.transaction_id) == 16
    assert bank.status(Product.B2B, started.transaction_id).status is S.OPEN

    back = decide_at_bank(started.authentication_url, "approved", iban="NL20INGB0001234567")
    assert back.status_code == 303
    assert back.headers["location"] == (
        f"http://127.0.0.1/return?trxid={started.transaction_id}&ec=ec0123456789")
    assert bank.status(Product.B2B, started.transaction_id).status is S.PENDING

    clock.advance(seconds=31)
    final = bank.status(Product.B2B, started.transaction_id)
    assert final.status is S.SUCCESS
    report = final.report
    assert report.accepted and report.bank_certificate
    assert report.mandate_reference == "MP-TEST-0001"
    assert report.local_instrument == "B2B" and report.max_amount_cents == 250000
    assert report.debtor_iban == "NL20INGB0001234567" and report.debtor_bic == "INGBNL2A"
    assert report.signer_name == "J. de Vries"
    assert report.debtor_name == "De Vries Holding B.V."
    assert report.validation_reference.startswith("SBX-")
    assert b"<ds:Signature" in report.document
    # The same report every time it is asked for.
    assert bank.status(Product.B2B, started.transaction_id).report.document == report.document
    assert recorder.assert_all_valid() == 10


@pytest.mark.parametrize(("decision", "status"), [("rejected", S.CANCELLED),
                                                  ("failed", S.FAILURE)])
def test_rejected_and_failed_decisions_end_without_a_report(
        bank: IdxBank, clock: Clock, decision: str, status: S) -> None:
    started = bank.new_mandate(mandate_request(Product.CORE))
    decide_at_bank(started.authentication_url, decision)
    clock.advance(seconds=31)
    final = bank.status(Product.CORE, started.transaction_id)
    assert final.status is status and final.report is None


def test_a_signer_without_authority_gets_an_unsigned_rejection(
        bank: IdxBank, clock: Clock) -> None:
    started = bank.new_mandate(mandate_request())
    decide_at_bank(started.authentication_url, "not_authorised")
    clock.advance(seconds=31)
    report = bank.status(Product.B2B, started.transaction_id).report
    assert not report.accepted
    assert report.reject_reason == "SIGNER_NOT_AUTHORISED"
    assert report.bank_certificate is None and report.validation_reference is None


def test_a_debtor_who_leaves_lets_the_transaction_expire(bank: IdxBank, clock: Clock) -> None:
    started = bank.new_mandate(mandate_request(expiration=timedelta(minutes=30)))
    clock.advance(minutes=29)
    assert bank.status(Product.B2B, started.transaction_id).status is S.OPEN
    clock.advance(minutes=2)
    assert bank.status(Product.B2B, started.transaction_id).status is S.EXPIRED


def test_an_unavailable_bank_answers_an_acquirer_error_with_a_message_for_the_debtor(
        bank: IdxBank, recorder: Recorder) -> None:
    with pytest.raises(BankUnavailable) as caught:
        bank.new_mandate(mandate_request(bic=UNAVAILABLE_BIC))
    assert caught.value.code == "SO1200"
    assert "not available" in caught.value.consumer_message
    recorder.assert_all_valid()


def test_unknown_transaction_and_bank_are_refusals(bank: IdxBank) -> None:
    with pytest.raises(BankRefused) as caught:
        bank.status(Product.CORE, "0050999999999999")
    assert caught.value.code == "AP2600"
    with pytest.raises(BankRefused) as caught:
        bank.new_mandate(mandate_request(Product.B2B, bic="ASNBNL21"))  # no B2B at this bank
    assert caught.value.code == "BR1200"


def test_a_request_signed_with_another_key_is_refused_by_the_acquirer(
        app: Flask, live: str, clock: Clock) -> None:
    stranger = create_signing_pair("not the registered merchant")
    client = IdxBank(sandbox_settings(app, live, signing=stranger), clock=clock)
    with pytest.raises(BankRefused) as caught:
        client.directory(Product.CORE)
    assert caught.value.code == "SE2000"


def test_answers_signed_by_an_unknown_acquirer_certificate_are_refused(
        app: Flask, live: str, clock: Clock) -> None:
    other = create_signing_pair("another acquirer").certificate
    client = IdxBank(sandbox_settings(app, live, acquirer_certificates=(other,)), clock=clock)
    with pytest.raises(BankResponseRefused, match="unknown certificate"):
        client.directory(Product.CORE)


def test_the_alternative_acquirer_certificate_is_accepted_during_a_rollover(
        app: Flask, live: str, clock: Clock) -> None:
    old = create_signing_pair("the acquirer's old certificate").certificate
    current = sandbox_settings(app, live).acquirer_certificates[0]
    client = IdxBank(sandbox_settings(app, live, acquirer_certificates=(old, current)),
                     clock=clock)
    assert client.directory(Product.CORE).banks


def test_an_unreachable_acquirer_is_unavailable(app: Flask, clock: Clock) -> None:
    client = IdxBank(sandbox_settings(app, "http://127.0.0.1:9"), clock=clock,
                     client=httpx.Client(timeout=2))
    with pytest.raises(BankUnavailable):
        client.directory(Product.CORE)
