"""No IBAN, token, secret, email or full name ever reaches a log line."""

from __future__ import annotations

import logging

import pytest
from flask import Flask

from portal.jobs.service import run_due_jobs
from portal.logs import scrub
from tests.sign.driver import Journey


def test_whole_core_journey_logs_nothing_sensitive(
        app: Flask, journey: Journey, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    journey.open()
    journey.submit("NL18 RABO 0123 4598 76", name="Wilhelmina Verstappen-Oranje",
                   email="w.verstappen@example.org")
    journey.client.get(f"{journey.path}/nonexistent")  # a 404 on the way
    journey.follow(journey.pay("paid", payer_iban="DE89 3704 0044 0532 0130 00"))
    journey.client.post("/providers/sandbox/webhook", data={"id": "tr_sbxunknown000000000"})
    run_due_jobs(app)  # PDF sealing and the customer's mail

    text = caplog.text + "".join(r.getMessage() for r in caplog.records)
    assert "activated by sandbox payment" in text  # the journey did log
    forbidden = [
        "NL18RABO0123459876", "NL18 RABO 0123 4598 76", "DE89370400440532013000",
        "DE89 3704 0044 0532 0130 00", "NL91ABNA0417164300",
        journey.token, app.config["SECRET_KEY"], app.config["DATA_KEY"],
        "Wilhelmina", "Verstappen", "w.verstappen@example.org", "sam@example.org",
    ]
    leaked = [item for item in forbidden if item in text]
    assert leaked == []


@pytest.mark.parametrize(("message", "secret"), [
    ("GET /sign/WyJpbnZfYWJjIiwxNzk2ODMyMjk2XQ.MPWVm6MUk9PYRUi8DmP31HCu_TI/done", "WyJpbnZf"),
    ("iban=NL91 ABNA 0417 1643 00 typed", "0417"),
    ("paid from DE89370400440532013000", "0532013000"),
    ("secret whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "MfKQ9r8G"),
    ("Authorization: Bearer eyJhbGciOi.abc.def", "eyJhbGciOi"),
    ("client_secret=s3cr3t&grant_type=client_credentials", "s3cr3t"),
    ("mollie key test_dHar4XY7LxsDOtmnkVtjNVWXLSlXsM", "dHar4XY7"),
    ("mail to someone@example.org failed", "someone@"),
])
def test_scrubber_removes_each_kind_of_secret(message: str, secret: str) -> None:
    assert secret not in scrub(message)


def test_scrubbing_applies_to_every_logger_and_traceback(
        app: Flask, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    try:
        raise ValueError("bad IBAN NL91ABNA0417164300")
    except ValueError:
        logging.getLogger("some.library").exception("failed for %s", "sam@example.org")
    assert "NL91ABNA0417164300" not in caplog.text and "sam@example.org" not in caplog.text
    assert "[iban]" in caplog.text and "[email]" in caplog.text
