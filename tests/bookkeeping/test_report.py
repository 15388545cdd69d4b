"""Acceptance: the bookkeeping of a month with collections, a retried debit, a return, an MD06
refund, checkout payments, a refund, a chargeback and a payment entered by hand reconciles to
the cent (the invoices' paid amounts against the money lines, both summed), and its CSV files
open in a spreadsheet with the right columns and number formats (both databases)."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.bookkeeping.export import EXPORTS, INVOICE_COLUMNS, TRANSACTION_COLUMNS, euros
from portal.bookkeeping.service import Report, build_report, month_period
from portal.clock import utcnow
from portal.collections.sandbox_bank import TEST_ACCOUNTS
from portal.invoices.context import billing_of
from portal.invoices.models import Invoice, InvoiceStatus
from portal.invoices.service import InvoiceSpec, create_invoice, record_invoice_payment
from portal.merchants.models import Merchant
from portal.payments.models import Refund
from portal.payments.refunds import create_refund
from portal.payments.service import CustomerDetails
from tests.api.conftest import make_caller
from tests.collections.conftest import Clock, active_mandate, collecting_merchant, run_jobs
from tests.console.conftest import Staff, log_in, make_staff
from tests.payments.driver import Checkout
from tests.seeded_template import SeededTemplates, module_templates
from tests.sign.driver import csrf_token
from tests.subscriptions.conftest import Simulation

ACCOUNT = {t.outcomes: t.iban for t in TEST_ACCOUNTS}
AMOUNT = re.compile(r"-?[0-9]+\.[0-9]{2}")  # whole value: always fullmatch
DAY = re.compile(r"2026-04-[0-3][0-9]")  # whole value: always fullmatch


def sandbox_action(checkout: Checkout, action: str) -> None:
    [payment] = [p for p in checkout.payments() if p.status.value == "paid"]
    path = f"/sandbox/payments/{payment.provider_payment_id}"
    page = checkout.client.get(path)
    answer = checkout.client.post(path, data={"csrf_token": csrf_token(page),
                                              "action": action})
    assert answer.status_code == 303, answer.data[:300]


def _april(app: Flask, session: Session) -> tuple[str, datetime]:
    """A month of business, run morning by morning on the clock, for a collecting merchant;
    the merchant's public id and the clock's time at the end."""
    clock = Clock(datetime(2026, 3, 20, 9, tzinfo=UTC))  # as the collections' clock fixture
    app.config["CLOCK"] = clock
    merchant = collecting_merchant(session)
    session.commit()
    billing, collectors = billing_of(app), get_adapters(app).collectors
    client = app.test_client()
    clock.set_day(date(2026, 4, 1), hour=9)

    def invoice(customer, amount: int, description: str, **fields) -> Invoice:
        made = create_invoice(session, merchant, InvoiceSpec(
            customer=customer, description=description, amount_cents=amount, vat_rate="21",
            issue_date=date(2026, 4, 1), due_date=date(2026, 4, 8), **fields),
            actor="test", now=clock.now, billing=billing)
        session.commit()
        return made

    for name, iban, amount in (("Ada Paid", "NL91ABNA0417164300", 2500),
                               ("Bo Retried", ACCOUNT["AM04", None], 3000),  # then paid
                               ("Cy Closed", ACCOUNT["AC04",], 4000),  # returned for good
                               ("Di Claims", ACCOUNT["MD06",], 4500)):  # refunded (MD06)
        mandate = active_mandate(session, merchant, iban=iban, name=name)
        invoice(mandate.customer, amount, f"Membership April {name}")
    ada = session.scalars(select(Invoice).order_by(Invoice.id)).first()
    assert ada is not None
    entered = invoice(ada.customer, 10000, "Coaching April")  # half paid by bank transfer
    record_invoice_payment(session, entered, 5000, method="banktransfer", reference="stmt 4",
                           actor="test", now=clock.now)
    session.commit()

    paid = invoice(CustomerDetails(name="@Home Fitness", email="home@example.org",
                                   locale="en"), 6050, "Workshop")
    charged_back = invoice(CustomerDetails(name="Ed Back", email="ed@example.org",
                                           locale="en"), 1210, "Book")
    invoice(CustomerDetails(name="Flo Open", email="flo@example.org", locale="en"), 7700,
            "Course")  # left unpaid
    checkouts = {}

    def pay(which: Invoice) -> None:
        checkouts[which.id] = Checkout(app, client, session, which.payment_request)
        checkouts[which.id].pay("ideal", payer_iban="NL18 RABO 0123 4598 76")

    def refund() -> None:
        request = session.get(Invoice, paid.id).payment_request
        made = create_refund(session, request, 1050, description="Goodwill", actor="test",
                             now=clock.now)
        session.commit()
        run_jobs(app)
        session.expire_all()
        remote = session.get(Refund, made.id).provider_refund_id
        sandbox_action(checkouts[paid.id], f"refund:{remote}:refunded")

    Simulation(app, session, clock, collectors).until(date(2026, 4, 30), actions={
        date(2026, 4, 2): lambda: (pay(paid), pay(charged_back)),
        date(2026, 4, 14): refund,
        date(2026, 4, 21): lambda: sandbox_action(checkouts[charged_back.id], "chargeback"),
    })
    return merchant.public_id, clock.now


@pytest.fixture(scope="module")
def aprils() -> Iterator[SeededTemplates]:
    """The month is about 6 s of CPU; run once per backend, each test gets a copy of it."""
    yield from module_templates("april", _april)


@pytest.fixture
def database_url(request: pytest.FixtureRequest, backend: str, tmp_path: Path,
                 aprils: SeededTemplates) -> str:
    """Each test starts from a copy of the month (database and instance folder)."""
    return aprils.copy(request, backend, tmp_path)


@pytest.fixture
def clock(app: Flask, request: pytest.FixtureRequest, backend: str,
          aprils: SeededTemplates) -> Clock:
    """The clock where the month left it."""
    clock = Clock(aprils.template(request, backend).seeded[1])
    app.config["CLOCK"] = clock
    return clock


@pytest.fixture
def merchant(session: Session, request: pytest.FixtureRequest, backend: str,
             aprils: SeededTemplates, clock: Clock) -> Merchant:
    """The month's collecting merchant."""
    public_id = aprils.template(request, backend).seeded[0]
    return session.scalars(select(Merchant).where(Merchant.public_id == public_id)).one()


@pytest.fixture
def april(session: Session, merchant: Merchant) -> Report:
    """The month's report."""
    return build_report(session, merchant.id, *month_period("2026-04"))


def read_csv(body: str) -> list[dict[str, str]]:
    assert body.startswith("\ufeff"), "Excel needs the BOM to read UTF-8"
    return list(csv.DictReader(io.StringIO(body[1:], newline="")))


def cents(text: str) -> int:
    assert AMOUNT.fullmatch(text), text
    return int(Decimal(text) * 100)


def test_a_month_reconciles_to_the_cent_and_its_csv_reads_as_numbers(
        april: Report, session: Session) -> None:
    kinds = {line.kind for line in april.lines}
    assert kinds == {"collection", "return", "debit_refund", "payment", "refund", "chargeback"}
    assert april.retry_count == 1 and len(april.rejections) + april.count("return") >= 2

    invoices = {i.number: i for i in session.scalars(select(Invoice))}
    received = april.received_by_invoice()
    # Each invoice: what the lines brought in on it is exactly what it shows as paid.
    assert {number: received.get(number, 0) for number in invoices} == {
        number: i.paid_cents for number, i in invoices.items()}
    statuses = sorted((i.description.split()[0], i.status, i.paid_cents, i.open_cents)
                      for i in invoices.values())
    assert statuses == sorted([
        ("Membership", InvoiceStatus.PAID, 2500, 0),
        ("Membership", InvoiceStatus.PAID, 3000, 0),
        ("Membership", InvoiceStatus.OVERDUE, 0, 4000),
        ("Membership", InvoiceStatus.OVERDUE, 0, 4500),
        ("Coaching", InvoiceStatus.PAID, 10000, 0),
        ("Workshop", InvoiceStatus.PAID, 6050, 0),
        ("Book", InvoiceStatus.OVERDUE, 0, 1210),
        ("Course", InvoiceStatus.OVERDUE, 0, 7700),
    ])

    transactions = read_csv(EXPORTS["transactions"](april))
    assert tuple(transactions[0]) == TRANSACTION_COLUMNS
    assert all(DAY.fullmatch(row["date"]) for row in transactions)
    assert {row["currency"] for row in transactions} == {"EUR"}
    # Both sides summed: the CSV's money equals the report's, and what came in on invoices
    # (all but refunds) equals what the invoices issued this month show as paid.
    assert sum(cents(row["amount_eur"]) for row in transactions) == april.net_cents
    assert sum(cents(row["amount_eur"]) for row in transactions if row["type"] != "refund") \
        == sum(i.paid_cents for i in invoices.values())
    assert april.total("refund") == -1050 and april.total("chargeback") == -1210
    # The provider's settlements: what it paid out is the checkout's money less its fees.
    assert april.settlements >= 1 and april.fees_cents > 0
    assert april.payouts_cents == 6050 + 1210 - 1050 - 1210 - april.fees_cents
    by_type = {row["type"]: row for row in transactions}
    assert by_type["refund"]["customer"] == "'@Home Fitness"  # no formula in a spreadsheet
    assert by_type["debit_refund"]["description"].startswith("MD06")

    issued = read_csv(EXPORTS["invoices"](april))
    assert tuple(issued[0]) == INVOICE_COLUMNS and len(issued) == 8
    assert sum(cents(row["paid_eur"]) for row in issued) == sum(received.values())
    for row in issued:
        assert cents(row["net_eur"]) + cents(row["vat_eur"]) == cents(row["amount_eur"])
        assert cents(row["paid_eur"]) + cents(row["open_eur"]) == cents(row["amount_eur"])

    owed = read_csv(EXPORTS["open-amounts"](april))
    assert sorted((row["customer"], row["open_eur"]) for row in owed) == [
        ("Cy Closed", "40.00"), ("Di Claims", "45.00"), ("Ed Back", "12.10"),
        ("Flo Open", "77.00")]
    assert sum(w.collected_cents for w in april.weeks) == april.total("collection")
    assert sum(w.failed_cents for w in april.weeks) == (
        -april.total("return") - april.total("debit_refund") + april.rejected_cents)
    assert [w.starts_on for w in april.weeks][:2] == [date(2026, 3, 30), date(2026, 4, 6)]


def test_the_report_through_the_api_and_the_cli(
        april: Report, app: Flask, session: Session, merchant: Merchant, tmp_path) -> None:
    api = make_caller(app, session, merchant).authorize()
    body = api.get("/api/v1/bookkeeping/2026-04").get_json()
    assert (body["start_date"], body["end_date"]) == ("2026-04-01", "2026-04-30")
    assert body["net"] == april.net_cents
    assert body["chargebacks"] == {"count": 1, "amount": -1210}
    assert body["collections"]["amount"] == april.total("collection")
    assert len(body["open_by_customer"]) == 4
    export = api.get(body["exports"]["transactions"].removeprefix("http://localhost"))
    assert export.status_code == 200 and export.mimetype == "text/csv"
    assert export.get_data(as_text=True) == EXPORTS["transactions"](april)
    assert "attachment" in export.headers["Content-Disposition"]
    bad = api.get("/api/v1/bookkeeping/2026-13")
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert api.get("/api/v1/bookkeeping/2026-04/ledger.csv").status_code == 404
    other = make_caller(app, session).authorize()
    assert other.get("/api/v1/bookkeeping/2026-04").get_json()["net"] == 0

    target = tmp_path / "april.csv"
    result = app.test_cli_runner().invoke(args=[
        "bookkeeping", "report", "--merchant", merchant.public_id, "--month", "2026-04",
        "--csv", "invoices", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_bytes().decode("utf-8") == EXPORTS["invoices"](april)
    summary = app.test_cli_runner().invoke(args=[
        "bookkeeping", "report", "--merchant", merchant.public_id, "--month", "2026-04"])
    assert summary.exit_code == 0 and "chargebacks" in summary.output
    assert "-12.10" in summary.output


def test_the_console_page_draws_the_weeks_as_svg_and_offers_the_csv(
        april: Report, app: Flask, session: Session, merchant: Merchant, clock: Clock) -> None:
    clock.now = utcnow()  # the console's login cookie expires by the real clock
    staff = make_staff(session)
    with app.app_context():  # its own g: the checkout's requests cached a form token there
        _console_page(app, staff, merchant, april)
    path = f"/console/merchants/{merchant.public_id}/bookkeeping?month=2026-04"
    assert app.test_client().get(path).status_code == 302  # staff only


def _console_page(app: Flask, staff: Staff, merchant: Merchant, april: Report) -> None:
    browser = app.test_client()
    assert log_in(browser, staff.email, staff.password).status_code == 303
    path = f"/console/merchants/{merchant.public_id}/bookkeeping"
    page = browser.get(f"{path}?month=2026-04")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count('<rect class="collected"') == len(april.weeks) == 5
    assert html.count('<rect class="failed"') == 5 and "<script" not in html
    assert "style=" not in html  # the Content-Security-Policy allows no inline style
    assert euros(april.total("collection")) in html and "Ed Back" in html
    download = browser.get(f"{path}/2026-04/transactions.csv")
    assert download.status_code == 200 and download.mimetype == "text/csv"
    assert download.get_data(as_text=True) == EXPORTS["transactions"](april)
    assert browser.get(f"{path}?month=2026-99").status_code == 404
