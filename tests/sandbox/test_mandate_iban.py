"""The sandbox keeps the account of the mandates its first payments leave encrypted, like every
IBAN at rest (the migration of stored accounts: tests/keys/test_accounts_migration.py)."""

from __future__ import annotations

import pytest
from flask import Flask
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.crypto import FieldCipher
from portal.merchants.models import Merchant
from portal.sandbox.models import SandboxMandate
from portal.sandbox.provider import CONSUMER_IBAN_CONTEXT, SandboxProvider
from tests.factories import make_merchant
from tests.payments.conftest import make_request
from tests.payments.driver import Checkout

ACCOUNT = "NL18RABO0123459876"


@pytest.fixture
def merchant(session: Session) -> Merchant:
    merchant = make_merchant(session)
    session.commit()
    return merchant


def test_a_first_payment_leaves_a_mandate_whose_account_is_stored_encrypted(
        app: Flask, client, session: Session, merchant: Merchant) -> None:
    checkout = Checkout(app, client, session, make_request(session, merchant,
                                                           offer_mandate=True))
    checkout.pay("ideal", payer_iban="NL18 RABO 0123 4598 76", set_up="y", consent="y")
    stored = session.execute(text("SELECT consumer_iban_ciphertext FROM sandbox_mandate")
                             ).scalar()
    assert stored.startswith("v1.") and ACCOUNT not in stored
    assert FieldCipher(app.config["DATA_KEY"]).decrypt(stored, CONSUMER_IBAN_CONTEXT) == ACCOUNT
    mandate = session.scalars(select(SandboxMandate)).one()
    remote = SandboxProvider("http://localhost", session=lambda: session, clock=utcnow).get_mandate(mandate.customer_id,
                                                                     mandate.mandate_id)
    assert remote.consumer_iban == ACCOUNT
