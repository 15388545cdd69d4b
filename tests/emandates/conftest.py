"""Fixtures for bank signing: mandates awaiting their bank signature, the service's settings,
and a stand-in acquirer whose answers a test shapes (see tests/banks/forgery.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.banks import Product
from portal.banks.pain import Party
from portal.clock import utcnow
from portal.emandates.models import BankOutcome, BankTransaction
from portal.emandates.service import BankSettings, refresh_status
from portal.ids import new_public_id
from portal.mandates.models import Invitation, Mandate, Scheme, SigningMethod
from portal.sepa import validate_iban
from portal.sign.service import Signature, submit_signature
from tests.banks.forgery import (
    TRANSACTION_ID,
    ForgingAcquirer,
    request_details,
    signed_report,
    status_message,
)
from tests.factories import make_invitation

SETTINGS = BankSettings(
    expiration={Product.CORE: timedelta(hours=1), Product.B2B: timedelta(days=7)},
    poll_schedule=(60, 300), min_check_interval=timedelta(seconds=0),
    directory_max_age=timedelta(hours=24))


def awaiting_bank(session: Session, scheme: Scheme = Scheme.B2B, **overrides: object
                  ) -> Invitation:
    """An invitation whose debtor consented on our page and chose bank signing."""
    invitation = make_invitation(session, scheme=scheme,
                                 signing_methods=(SigningMethod.BANK_EMANDATE,), **overrides)
    session.flush()
    submit_signature(session, invitation, Signature(
        name="De Vries Holding", email="sam@example.org",
        account=validate_iban("NL91ABNA0417164300"), ip="127.0.0.1", user_agent="pytest",
        locale="en", text_version="test"), utcnow())
    session.commit()
    return invitation


def open_transaction(session: Session, invitation: Invitation, *, bank: str = "forged",
                     kind: str = "new") -> BankTransaction:
    """A transaction as if the acquirer had answered the start (with forgery's id)."""
    now = utcnow()
    mandate = invitation.mandate
    transaction = BankTransaction(
        public_id=new_public_id("btx"), merchant_id=mandate.merchant_id, mandate=mandate,
        invitation=invitation, bank=bank,
        product=(Product.B2B if mandate.scheme == Scheme.B2B else Product.CORE).value,
        kind=kind, debtor_bic="INGBNL2A", message_id="MSG0000000000001",
        entrance_code="ec0123", transaction_id=TRANSACTION_ID, status="Open",
        outcome=BankOutcome.OPEN.value, status_history=[], expires_at=now + timedelta(hours=1),
        created_at=now, updated_at=now)
    session.add(transaction)
    session.commit()
    return transaction


def accepted_at_bank(app: Flask, session: Session) -> tuple[Mandate, BankTransaction]:
    """A B2B mandate whose debtor's bank accepted it: a signed pain.012 applied to its open
    transaction (the mandate as loaded before; expire or get it again to see it active)."""
    invitation = awaiting_bank(session)
    mandate = invitation.mandate
    transaction = open_transaction(session, invitation)
    report = signed_report(request_details(mandate.reference), creditor=creditor_of(mandate))
    with app.app_context():
        refresh_status(session, ForgingAcquirer(status_message(report)).client(), transaction,
                       source="return", now=utcnow(), settings=SETTINGS)
    return mandate, transaction


def creditor_of(mandate: Mandate) -> Party:
    merchant = mandate.merchant
    return Party(merchant.creditor_id, merchant.legal_name, merchant.country,
                 (merchant.address_line, f"{merchant.postal_code} {merchant.city}"))


@pytest.fixture
def settings() -> BankSettings:
    return SETTINGS
