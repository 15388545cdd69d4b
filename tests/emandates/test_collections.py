"""What bank signing gives the collections: a B2B mandate is collected only once the debtor's
bank accepted it, and its direct debits carry the bank's validation reference."""

from __future__ import annotations

from dataclasses import replace

import pytest
from flask import Flask
from lxml import etree
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.banks.pain import Party
from portal.clock import utcnow
from portal.collections.batches import export_batches
from portal.collections.service import DebitRefused, DebitRequest, schedule_debit
from portal.emandates.service import refresh_status
from portal.mandates.models import Mandate, MandateStatus
from tests.banks.forgery import ForgingAcquirer, request_details, signed_report, status_message
from tests.collections.conftest import collecting_merchant
from tests.emandates.conftest import SETTINGS, awaiting_bank, creditor_of, open_transaction


@pytest.fixture(params=["sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def _bank_answers(session: Session, mandate: Mandate, creditor: Party | None = None) -> Mandate:
    """The acquirer returns the debtor bank's signed pain.012 accepting the mandate (naming
    ``creditor``, ours by default); the portal applies it as on the debtor's return."""
    transaction = open_transaction(session, mandate.invitations[0])
    signed = signed_report(request_details(mandate.reference),
                           creditor=creditor or creditor_of(mandate))
    refresh_status(session, ForgingAcquirer(status_message(signed)).client(), transaction,
                   source="return", now=utcnow(), settings=SETTINGS)
    session.commit()
    session.expire_all()
    fresh = session.get(Mandate, mandate.id)
    assert fresh is not None
    return fresh


def test_a_b2b_mandate_accepted_by_the_bank_is_collected_with_its_validation_reference(
        app: Flask, session: Session) -> None:
    collectors = get_adapters(app).collectors
    with app.app_context():
        merchant = collecting_merchant(session)
        mandate = _bank_answers(session, awaiting_bank(session, merchant=merchant).mandate)
        assert mandate.status == MandateStatus.ACTIVE and mandate.bank_confirmed
        assert mandate.validation_reference == "VAL-0001"
        debit = schedule_debit(session, DebitRequest(mandate=mandate, amount_cents=125_000,
                                                     description="Sponsoring Q2"),
                               policy=collectors.policy, actor="test")
        assert debit.scheme == "B2B"
        [batch] = export_batches(session, merchant.id, collectors, actor="test")
        document = etree.parse(str(collectors.store.path(batch.file_sha256)))
    signatures = document.xpath("//*[local-name()='ElctrncSgntr']/text()")
    assert signatures == ["VAL-0001"]


def test_a_b2b_mandate_whose_report_was_refused_is_not_collected(
        app: Flask, session: Session) -> None:
    """A pain.012 for another creditor changes nothing: still no bank confirmation."""
    collectors = get_adapters(app).collectors
    with app.app_context():
        merchant = collecting_merchant(session)
        invitation = awaiting_bank(session, merchant=merchant)
        other = replace(creditor_of(invitation.mandate), creditor_id="NL98ZZZ999999999999")
        mandate = _bank_answers(session, invitation.mandate, other)
        assert not mandate.bank_confirmed and mandate.validation_reference is None
        with pytest.raises(DebitRefused) as refused:
            schedule_debit(session, DebitRequest(mandate=mandate, amount_cents=1000,
                                                 description="Sponsoring Q2"),
                           policy=collectors.policy, actor="test")
    assert refused.value.code == "mandate_not_active"
