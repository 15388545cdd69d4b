"""The sender settings reach what customers receive: mail goes out under the merchant's sender
name, texts from its SMS sender id (each falling back to the portal's when unset)."""

from __future__ import annotations

import email
from email import policy
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.clock import utcnow
from portal.jobs.service import run_due_jobs
from portal.sms.gateways import FileSmsGateway, HttpSmsGateway
from tests.factories import make_merchant
from tests.mail.conftest import invite_by_email
from tests.sms.gateway_stub import GatewayStub


def _sent_mail(app: Flask) -> email.message.EmailMessage:
    [path] = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    return email.message_from_bytes(path.read_bytes(), policy=policy.default)


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # headers, not the database
@pytest.mark.parametrize(("from_name", "shown"), [("Klantenservice Bol", "Klantenservice Bol"),
                                                   (None, "Bakkerij Bol")])
def test_mail_is_sent_under_the_merchants_sender_name(app: Flask, session: Session,
                                                      from_name: str | None,
                                                      shown: str) -> None:
    merchant = make_merchant(session, display_name="Bakkerij Bol")
    merchant.mail_from_name = from_name
    session.commit()
    invite_by_email(app, session, merchant)
    run_due_jobs(app)
    [sender] = _sent_mail(app)["From"].addresses
    assert sender.display_name == shown


def test_the_http_gateway_sends_from_the_merchants_sender_id() -> None:
    stub = GatewayStub().start()
    try:
        gateway = HttpSmsGateway(stub.url, "key", "Mandates", timeout=2.0)
        gateway.send("+31612345678", "hi", sender="Bol24")
        gateway.send("+31612345678", "hi")
        assert [r.body["originator"] for r in stub.requests] == ["Bol24", "Mandates"]
    finally:
        stub.stop()


def test_the_outbox_records_the_sender_id(tmp_path: Path) -> None:
    gateway = FileSmsGateway(tmp_path, utcnow)
    gateway.send("+31612345678", "hi", sender="Bol24")
    [path] = tmp_path.glob("*.sms.txt")
    assert path.read_text().splitlines()[:2] == ["To: +31612345678", "From: Bol24"]
