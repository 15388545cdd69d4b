"""The background status poll: for debtors who never come back from their bank, ask the bank
on a schedule until the transaction is final or long expired."""

from __future__ import annotations

import logging
from typing import Any

from flask import current_app
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.banks.base import BankError
from portal.emandates.config import bank_settings
from portal.emandates.models import BankOutcome
from portal.emandates.service import (
    STATUS_POLL_JOB,
    find_transaction,
    give_up,
    next_poll,
    refresh_status,
)
from portal.jobs.service import RetryLater, job_handler

log = logging.getLogger(__name__)


@job_handler(STATUS_POLL_JOB)
def poll_bank_status(session: Session, payload: dict[str, Any]) -> None:
    transaction = find_transaction(session, payload["transaction"])
    if transaction is None or BankOutcome(transaction.outcome).is_final:
        return
    adapters = get_adapters()
    bank = adapters.bank
    if bank is None or bank.name != transaction.bank:
        log.warning("bank %s of transaction %s is not configured", transaction.bank,
                    transaction.public_id)
        return
    settings = bank_settings(current_app)
    now = adapters.clock()
    try:
        outcome = refresh_status(session, bank, transaction, source="poll", now=now,
                                 settings=settings, force=True)
    except BankError as exc:  # unavailable, or a refusal of our status request: ask again
        session.rollback()
        log.warning("status of %s not available: %s", transaction.public_id, exc)
        outcome = BankOutcome(transaction.outcome)
    if outcome.is_final:
        return
    at = next_poll(transaction, now, settings.poll_schedule)
    if at is None:
        give_up(session, transaction, now)
        return
    raise RetryLater(f"bank transaction {transaction.public_id} is {outcome.value}", at=at)
