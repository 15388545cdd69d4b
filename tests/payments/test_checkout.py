"""The hosted checkout through the sandbox provider, on both databases: every method and outcome,
the double confirmation, partial payments, the outcome pages and the receipt."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy.orm import Session

from portal.merchants.models import Merchant
from portal.payments.models import RequestStatus
from portal.providers.base import PaymentStatus
from tests.payments.conftest import event_types, make_request, run_jobs
from tests.payments.driver import Checkout
from tests.sign.driver import local

S = RequestStatus


@pytest.fixture
def checkout(app: Flask, client: FlaskClient, session: Session, merchant: Merchant) -> Checkout:
    return Checkout(app, client, session, make_request(session, merchant, amount_cents=4250))


def _outbox(app: Flask) -> list[Path]:
    folder = Path(app.instance_path) / "outbox"
    return sorted(folder.glob("*.eml")) if folder.exists() else []


def test_the_page_shows_what_is_owed_for_what_and_by_when(checkout: Checkout) -> None:
    page = checkout.open("?lang=en")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Pay €42.50 to Merchant" in text and "Membership 2030" in text
    assert "2030-0042" in text and 'id="due-date"' in text
    for method in ("ideal", "creditcard", "bancontact", "paypal"):
        assert f'value="{method}"' in text
    assert "Pay on your phone" in text and "/qr.svg" in text


@pytest.mark.parametrize("method", ["ideal", "creditcard", "bancontact", "paypal"])
def test_each_method_pays_the_request(app: Flask, checkout: Checkout, method: str) -> None:
    page = checkout.pay(method)
    assert page.status_code == 200
    assert 'data-outcome="paid"' in page.get_data(as_text=True)
    request = checkout.reload()
    assert (request.status, request.open_cents) == (S.PAID, 0)
    [payment] = checkout.payments()
    assert (payment.method, payment.status) == (method, PaymentStatus.PAID)
    assert event_types(checkout.session, request.public_id) == [
        "payment_request.created", "payment_request.paid"]


@pytest.mark.parametrize(("outcome", "shown"), [
    ("failed", "failed"), ("canceled", "cancelled"), ("expired", "attempt_expired"),
    ("pending", "pending")])
def test_every_other_outcome_tells_the_customer_where_they_stand(
        checkout: Checkout, outcome: str, shown: str) -> None:
    page = checkout.pay("ideal", outcome)
    text = page.get_data(as_text=True)
    assert f'data-outcome="{shown}"' in text
    assert ('id="try-again"' in text) == (shown != "pending")
    assert checkout.reload().status is S.OPEN
    failed = event_types(checkout.session, checkout.request.public_id,
                         prefix="payment_request.failed")
    assert failed == (["payment_request.failed"] if outcome == "failed" else [])


def test_a_pending_payment_settled_later_pays_the_request(checkout: Checkout) -> None:
    checkout.pay("ideal", "pending")
    [payment] = checkout.payments()
    sandbox = f"/sandbox/payments/{payment.provider_payment_id}"
    page = checkout.client.get(sandbox)
    from tests.sign.driver import csrf_token

    checkout.client.post(sandbox, data={"csrf_token": csrf_token(page), "action": "paid"})
    assert checkout.reload().status is S.PAID


def test_the_return_and_the_webhook_both_confirming_count_once(
        app: Flask, checkout: Checkout) -> None:
    app.config["SANDBOX_AUTO_WEBHOOK"] = False
    redirect = checkout.pay("ideal", follow=False)
    [payment] = checkout.payments()
    webhook = checkout.client.post("/providers/sandbox/webhook",
                                   data={"id": payment.provider_payment_id})
    assert webhook.status_code == 200
    checkout.client.get(local(redirect.headers["Location"]), follow_redirects=True)
    checkout.client.post("/providers/sandbox/webhook", data={"id": payment.provider_payment_id})
    request = checkout.reload()
    assert (request.received_cents, request.status) == (4250, S.PAID)
    [payment] = checkout.payments()
    assert [h.get("outcome") for h in payment.history] == [None, None, "repeat ignored",
                                                          "repeat ignored"]
    assert event_types(checkout.session, request.public_id, prefix="payment_request.paid") == [
        "payment_request.paid"]


def test_a_partial_payment_shows_what_is_still_open_and_the_rest_can_follow(
        app: Flask, client: FlaskClient, session: Session, merchant: Merchant) -> None:
    checkout = Checkout(app, client, session, make_request(
        session, merchant, amount_cents=10_000, allow_partial=True))
    page = checkout.pay("ideal", amount="30,00").get_data(as_text=True)
    assert 'data-outcome="partly_paid"' in page and "€70.00" in page
    assert checkout.reload().status is S.PARTLY_PAID
    checkout.pay("creditcard")
    request = checkout.reload()
    assert (request.status, request.received_cents) == (S.PAID, 10_000)


def test_a_paid_request_shows_the_receipt_and_mails_it(app: Flask, checkout: Checkout) -> None:
    checkout.request.return_url = "https://shop.example/orders/42"
    checkout.session.commit()
    text = checkout.pay("ideal").get_data(as_text=True)
    assert 'id="receipt"' in text and "€42.50" in text
    assert 'href="https://shop.example/orders/42"' in text
    run_jobs(app)
    [mail] = _outbox(app)
    message = message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert message["Subject"] == "Receipt: you paid €42.50 to Merchant " + \
        checkout.request.merchant.display_name.removeprefix("Merchant ")
    assert "2030-0042" in message.get_body(("plain",)).get_content()


def test_a_closed_request_cannot_be_paid_and_says_why(checkout: Checkout) -> None:
    from portal.payments.service import withdraw_payment_request
    from tests.payments.conftest import START

    withdraw_payment_request(checkout.session, checkout.request, actor="t", now=START)
    checkout.session.commit()
    page = checkout.open()
    assert page.status_code == 410 and 'data-outcome="withdrawn"' in page.get_data(as_text=True)


def test_bad_links_get_clear_pages(client: FlaskClient) -> None:
    assert client.get("/pay/not-a-token").status_code == 400
