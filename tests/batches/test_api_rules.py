"""The CSV batches refuse what the API refuses, for the same reason: each row below goes both
through a dry run and, as the equivalent body, to the API; the rules (expiry, channel, scheme,
one customer: ``portal.api.rules``) give the same messages, under the columns the values came
from."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from portal.batches.models import BatchKind, CsvBatch
from portal.batches.service import batch_errors
from tests.api.conftest import make_caller
from tests.batches.conftest import csv_text, run_batch_jobs, upload
from tests.reconfigure import reconfigure

INVITATION_HEADER = ("customer_name", "customer_email", "customer_phone", "scheme",
                     "max_amount_cents", "send_via")
#: (CSV row, the same request to the API, the columns the CSV names for the API's fields)
INVITATION_CASES: list[tuple[tuple[str, ...], dict[str, Any], dict[str, str]]] = [
    (("Sam", "", "", "", "", "email"),
     {"customer": {"name": "Sam"}, "send_via": "email"},
     {"customer.email": "customer_email"}),
    (("Sam", "", "+31 20 123 4567", "", "", "sms"),
     {"customer": {"name": "Sam", "phone": "+31 20 123 4567"}, "send_via": "sms"},
     {"customer.phone": "customer_phone"}),
    (("Sam", "", "", "", "", "sms"),
     {"customer": {"name": "Sam"}, "send_via": "sms"},
     {"customer.phone": "customer_phone"}),
    (("Sam", "", "", "CORE", "5000", ""),
     {"customer": {"name": "Sam"}, "scheme": "CORE", "max_amount_cents": 5000},
     {"max_amount_cents": "max_amount_cents"}),
]
REQUEST_HEADER = ("amount_cents", "description", "customer_name", "customer_email",
                  "customer_id", "due_date", "expires_in_days", "send_via")
REQUEST_CASES: list[tuple[tuple[str, ...], dict[str, Any], dict[str, str]]] = [
    (("4250", "Fee", "Sam", "", "cus_someone", "", "", ""),
     {"amount": 4250, "description": "Fee", "customer": {"name": "Sam"},
      "customer_id": "cus_someone"},
     {"customer": "customer_name", "customer_id": "customer_id"}),
    (("4250", "Fee", "Sam", "", "", "2099-01-01", "5", ""),
     {"amount": 4250, "description": "Fee", "customer": {"name": "Sam"},
      "due_date": "2099-01-01", "expires_in_days": 5},
     {"due_date": "due_date"}),
    (("4250", "Fee", "Sam", "", "", "", "", "email"),
     {"amount": 4250, "description": "Fee", "customer": {"name": "Sam"}, "send_via": "email"},
     {"customer.email": "customer_email"}),
]


def _dry_run(app: Flask, session: Session, merchant, kind: BatchKind, header, rows
             ) -> dict[int, set[tuple[str, str]]]:
    batch = upload(session, merchant, csv_text(header, rows), kind)
    run_batch_jobs(app)
    session.expire_all()
    found: dict[int, set[tuple[str, str]]] = {}
    for error in batch_errors(session, session.get(CsvBatch, batch.id)):
        found.setdefault(error.line, set()).add((error.column, error.reason))
    return found


def _assert_same_refusals(app: Flask, session: Session, kind: BatchKind, path: str,
                          header: tuple[str, ...], cases) -> None:
    api = make_caller(app, session).authorize()
    found = _dry_run(app, session, api.merchant, kind, header, [row for row, _, _ in cases])
    for line, (row, body, columns) in enumerate(cases, start=2):
        response = api.post(path, body)
        assert response.status_code == 422, (row, response.get_json())
        expected = {(columns[error["field"]], error["message"])
                    for error in response.get_json()["errors"]}
        assert found.get(line) == expected, (line, row)


def test_invitation_rows_are_refused_exactly_as_the_api_refuses_them(
        app: Flask, session: Session, backend: str) -> None:
    _assert_same_refusals(app, session, BatchKind.INVITATIONS, "/api/v1/invitations",
                          INVITATION_HEADER, INVITATION_CASES)


def test_payment_request_rows_are_refused_exactly_as_the_api_refuses_them(
        app: Flask, session: Session, backend: str) -> None:
    _assert_same_refusals(app, session, BatchKind.PAYMENT_REQUESTS, "/api/v1/payment-requests",
                          REQUEST_HEADER, REQUEST_CASES)


def test_sms_rows_are_refused_like_the_api_when_the_portal_sends_no_text_messages(
        app: Flask, session: Session, backend: str) -> None:
    reconfigure(app, SMS_TRANSPORT="none")
    _assert_same_refusals(app, session, BatchKind.INVITATIONS, "/api/v1/invitations",
                          INVITATION_HEADER, [
                              (("Sam", "", "+31612345678", "", "", "sms"),
                               {"customer": {"name": "Sam", "phone": "+31612345678"},
                                "send_via": "sms"},
                               {"send_via": "send_via"})])
