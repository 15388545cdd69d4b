"""Revision 9906018b2a3e encrypts the two IBANs that were kept in clear: a sandbox mandate's
paying account, and the original account of a collection amendment (moved out of its JSON)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask import Flask
from sqlalchemy import inspect, select, text
from sqlalchemy.orm import Session

from portal import migrate
from portal.collections.models import ORIGINAL_IBAN_CONTEXT, DebitAttempt
from portal.db import cipher_of, state
from portal.sandbox.models import SandboxMandate
from portal.sandbox.provider import CONSUMER_IBAN_CONTEXT, consumer_iban
from tests.collections.conftest import active_mandate, collecting_merchant, history

BEFORE = "4096521b490d"
PAYING, ORIGINAL = "DE89370400440532013000", "NL51ABNA0987654321"


def _columns(app: Flask, table: str) -> set[str]:
    return {column["name"] for column in inspect(state(app).engine).get_columns(table)}


def test_downgrade_and_upgrade_move_the_accounts_between_clear_and_encrypted(
        app: Flask, session: Session) -> None:
    with app.app_context():
        cipher = cipher_of(session)
        merchant = collecting_merchant(session)
        attempt = history(session, active_mandate(session, merchant))
        attempt.amendment = {"original_mandate_id": None, "original_creditor_id": None,
                             "smnda": False}
        attempt.original_iban_ciphertext = cipher.encrypt(ORIGINAL, ORIGINAL_IBAN_CONTEXT)
        session.add(SandboxMandate(
            mandate_id="mdt_sbx1", customer_id="cst_sbx1", method="directdebit",
            status="valid", consumer_iban_ciphertext=cipher.encrypt(PAYING, CONSUMER_IBAN_CONTEXT),
            created_at=datetime.now(UTC)))
        session.commit()
    session.close()
    engine = state(app).engine

    migrate.downgrade(engine, BEFORE, cipher=state(app).cipher)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT consumer_iban FROM sandbox_mandate")).scalar() \
            == PAYING
        amendment = connection.execute(text("SELECT amendment FROM debit_attempt")).scalar()
    assert ORIGINAL in str(amendment)

    with pytest.raises(RuntimeError, match="flask --app portal db upgrade"):
        migrate.upgrade(engine)  # no key given: nothing changes
    assert "consumer_iban" in _columns(app, "sandbox_mandate")
    assert "original_iban_ciphertext" not in _columns(app, "debit_attempt")

    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "consumer_iban" not in _columns(app, "sandbox_mandate")
    with state(app).factory() as fresh:
        [attempt] = fresh.scalars(select(DebitAttempt)).all()
        assert ORIGINAL not in str(attempt.amendment) and attempt.amendment["smnda"] is False
        assert cipher_of(fresh).decrypt(attempt.original_iban_ciphertext,
                                        ORIGINAL_IBAN_CONTEXT) == ORIGINAL
        [mandate] = fresh.scalars(select(SandboxMandate)).all()
        assert consumer_iban(fresh, mandate) == PAYING
