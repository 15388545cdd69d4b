"""What each step of the sign-and-verify flow asks of the database: a ceiling of SQL statements
per step (bench/http.py measures its time), and no write before the provider has answered."""

from __future__ import annotations

import pytest
from flask import Flask

from portal.mandates.models import MandateStatus
from portal.sandbox.provider import SandboxProvider
from tests.queries import counted_queries
from tests.sign.driver import Journey, csrf_token, local

#: Statements per step through the ORM engine (the page cache's one read on its own connection
#: is not counted). The submit: load the link, the consent, two audit events under one head
#: bump (in one INSERT), the outbox event, both payments; the sandbox's pay: its own four, then
#: the webhook's one lookup (a request's payment, a debit's attempt or a verification), the
#: provider's answer, the lock, the PDF and mail jobs in one INSERT that skips a known dedupe
#: key (no lookup), and the activation written in one flush (audit in one INSERT, outbox); no
#: refund query after an activation that queued none; the return and the done page ask for the
#: latest attempt of both methods in one query.
CEILINGS = {"open": 6, "submit": 8, "checkout": 2, "pay": 18, "return": 2, "done": 3}


def test_each_step_of_the_flow_stays_within_its_statement_ceiling(
        app: Flask, journey: Journey) -> None:
    counts: dict[str, int] = {}

    def step(name: str, call):
        with counted_queries(app) as statements:
            response = call()
        counts[name] = len(statements)
        return response

    client = journey.client
    form = step("open", journey.open)
    started = step("submit", lambda: client.post(journey.path, data={
        "csrf_token": csrf_token(form), "name": "Sam de Vries", "email": "sam@example.org",
        "iban": "NL91 ABNA 0417 1643 00", "consent": "y"}))
    assert started.status_code == 303, started.data[:300]
    checkout = local(started.headers["Location"])
    page = step("checkout", lambda: client.get(checkout))
    paid = step("pay", lambda: client.post(checkout, data={
        "csrf_token": csrf_token(page), "issuer": "INGBNL2A", "outcome": "paid",
        "payer_name": "S. de Vries", "payer_iban": ""}))
    back = step("return", lambda: client.get(local(paid.headers["Location"])))
    done = step("done", lambda: client.get(local(back.headers["Location"])))
    assert done.status_code == 200 and journey.mandate().status == MandateStatus.ACTIVE
    over = {name: (counts[name], ceiling) for name, ceiling in CEILINGS.items()
            if counts[name] > ceiling}
    assert not over, f"statements (sent, ceiling) over the ceiling: {over}; all: {counts}"


def test_the_submit_writes_nothing_until_the_provider_has_answered(
        app: Flask, journey: Journey, monkeypatch: pytest.MonkeyPatch) -> None:
    """No row lock (PostgreSQL) nor the write lock (SQLite) is held while the provider is
    asked: the consent, its audit events and the payment are written at the commit."""
    sent_before: list[str] = []
    create_payment = SandboxProvider.create_payment

    def answering(provider: SandboxProvider, order):
        sent_before.extend(statements)
        return create_payment(provider, order)

    monkeypatch.setattr(SandboxProvider, "create_payment", answering)
    form = journey.open()
    with counted_queries(app) as statements:
        started = journey.client.post(journey.path, data={
            "csrf_token": csrf_token(form), "name": "Sam de Vries", "email": "sam@example.org",
            "iban": "NL91 ABNA 0417 1643 00", "consent": "y"})
    assert started.status_code == 303
    assert sent_before and all(s.lstrip().upper().startswith("SELECT") for s in sent_before)
    assert journey.mandate().status == MandateStatus.AWAITING_VERIFICATION
