"""The payment request API: create (201 + Location), read, list with filters and cursors,
withdraw, external payments, refunds; scopes, idempotency and problems."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Flask
from sqlalchemy.orm import Session

from portal.jobs.service import run_due_jobs
from tests.api.conftest import Caller, make_caller

DUE = (date.today() + timedelta(days=20)).isoformat()
BODY = {"amount": 4250, "description": "Membership 2030", "invoice_number": "2030-0042",
        "due_date": DUE, "expires_in_days": 60,
        "customer": {"name": "Sam de Vries", "email": "sam@example.org", "locale": "nl"}}


def create(api: Caller, **overrides: Any) -> dict[str, Any]:
    response = api.post("/api/v1/payment-requests", {**BODY, **overrides})
    assert response.status_code == 201, response.get_data(as_text=True)
    assert response.headers["Location"].endswith(f"/api/v1/payment-requests/"
                                                 f"{response.get_json()['id']}")
    return response.get_json()


def test_create_returns_the_request_with_checkout_link_short_link_and_qr(api: Caller) -> None:
    body = create(api, return_url="https://shop.example/thanks", methods=["ideal", "paypal"],
                  allow_partial=True)
    assert body["id"].startswith("preq_") and body["object"] == "payment_request"
    assert (body["status"], body["amount"], body["open_amount"]) == ("open", 4250, 4250)
    assert body["checkout_url"].startswith("http://localhost/pay/")
    assert body["short_url"].startswith("http://localhost/s/")
    assert body["qr_svg_url"] == body["checkout_url"] + "/qr.svg"
    assert body["due_date"] == DUE and body["methods"] == ["ideal", "paypal"]
    assert body["customer"]["id"].startswith("cus_") and body["payments"] == []
    page = api.client.get(body["checkout_url"].removeprefix("http://localhost") + "?lang=en")
    assert page.status_code == 200 and "Membership 2030" in page.get_data(as_text=True)
    short = api.client.get(body["short_url"].removeprefix("http://localhost"))
    assert short.status_code == 303 and short.headers["Location"] == body["checkout_url"]


def test_scopes_are_payments_read_and_write(app: Flask, session: Session) -> None:
    reader = make_caller(app, session, scopes="payments:read").authorize()
    denied = reader.post("/api/v1/payment-requests", BODY)
    assert denied.status_code == 403 and denied.mimetype == "application/problem+json"
    mandates_only = make_caller(app, session, scopes="mandates:read").authorize()
    assert mandates_only.get("/api/v1/payment-requests").status_code == 403


def test_invalid_bodies_are_422_with_every_field(api: Caller) -> None:
    response = api.post("/api/v1/payment-requests", {
        "amount": 0, "description": "", "due_date": "31-03-2030", "methods": ["cash"],
        "return_url": "http://shop.example/", "customer": {"name": "S"}, "customer_id": "cus_x"})
    assert response.status_code == 422
    fields = {e["field"] for e in response.get_json()["errors"]}
    assert {"amount", "description", "due_date", "methods", "return_url"} <= fields


def test_an_existing_customer_can_be_asked_again(api: Caller) -> None:
    first = create(api)
    body = {k: v for k, v in BODY.items() if k != "customer"}
    response = api.post("/api/v1/payment-requests", {**body,
                                                     "customer_id": first["customer"]["id"]})
    assert response.status_code == 201
    assert response.get_json()["customer"]["id"] == first["customer"]["id"]
    missing = api.post("/api/v1/payment-requests", {**body, "customer_id": "cus_" + "x" * 22})
    assert missing.status_code == 422


def test_idempotent_create_makes_one_request(api: Caller) -> None:
    first = api.post("/api/v1/payment-requests", BODY, key="order-42")
    again = api.post("/api/v1/payment-requests", BODY, key="order-42")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == again.get_json()["id"]
    listing = api.get("/api/v1/payment-requests").get_json()
    assert len(listing["data"]) == 1


def test_list_pages_through_newest_first_with_filters(api: Caller, other: Caller) -> None:
    ids = [create(api, invoice_number=f"INV-{n}")["id"] for n in range(5)]
    create(other)
    seen, cursor = [], None
    while True:
        page = api.get("/api/v1/payment-requests?limit=2" + (f"&cursor={cursor}" if cursor
                                                               else "")).get_json()
        seen += [r["id"] for r in page["data"]]
        cursor = page["next_cursor"]
        if not page["has_more"]:
            break
    assert seen == list(reversed(ids))
    only = api.get("/api/v1/payment-requests?invoice_number=INV-3").get_json()["data"]
    assert [r["id"] for r in only] == [ids[3]]
    assert api.get("/api/v1/payment-requests?status=paid").get_json()["data"] == []


def test_external_payment_reduces_the_open_amount_with_location(api: Caller) -> None:
    request = create(api)
    response = api.post(f"/api/v1/payment-requests/{request['id']}/payments",
                        {"amount": 2000, "source": "external", "method": "banktransfer",
                         "reference": "STMT-12"})
    assert response.status_code == 201, response.get_data(as_text=True)
    payment = response.get_json()
    assert payment["source"] == "external" and payment["status"] == "paid"
    assert api.get(response.headers["Location"].removeprefix("http://localhost")).get_json() \
        == payment
    body = api.get(f"/api/v1/payment-requests/{request['id']}").get_json()
    assert (body["status"], body["open_amount"], body["paid_amount"]) == ("partly_paid", 2250,
                                                                           2000)
    bad = api.post(f"/api/v1/payment-requests/{request['id']}/payments",
                   {"amount": 100, "source": "provider"})
    assert bad.status_code == 422


def test_refunds_through_the_api_and_a_refund_larger_than_paid_is_refused(
        app: Flask, api: Caller) -> None:
    request = create(api)
    api.post(f"/api/v1/payment-requests/{request['id']}/payments",
             {"amount": 4250, "source": "external"})
    too_much = api.post(f"/api/v1/payment-requests/{request['id']}/refunds", {"amount": 5000})
    assert too_much.status_code == 422
    assert too_much.get_json()["type"].endswith("/refund-refused")
    response = api.post(f"/api/v1/payment-requests/{request['id']}/refunds", {"amount": 1000})
    assert response.status_code == 201
    refund = response.get_json()
    assert refund["status"] == "succeeded" and refund["amount"] == 1000
    assert api.get(f"/api/v1/refunds/{refund['id']}").get_json() == refund
    body = api.get(f"/api/v1/payment-requests/{request['id']}").get_json()
    assert body["status"] == "partly_refunded" and body["refunds"] == [refund]


def test_withdraw_then_409_and_other_merchants_see_nothing(api: Caller, other: Caller) -> None:
    request = create(api)
    assert other.get(f"/api/v1/payment-requests/{request['id']}").status_code == 404
    assert other.post(f"/api/v1/payment-requests/{request['id']}/withdraw", {}).status_code == 404
    withdrawn = api.post(f"/api/v1/payment-requests/{request['id']}/withdraw",
                         {"reason": "duplicate"})
    assert withdrawn.status_code == 200 and withdrawn.get_json()["status"] == "withdrawn"
    again = api.post(f"/api/v1/payment-requests/{request['id']}/withdraw", {})
    assert again.status_code == 409 and again.get_json()["type"].endswith("/invalid-state")


def test_send_via_email_mails_the_link_in_the_customers_language(app: Flask,
                                                                 api: Caller) -> None:
    from email import message_from_bytes, policy
    from pathlib import Path

    create(api, send_via="email")
    run_due_jobs(app)
    [mail] = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    message = message_from_bytes(mail.read_bytes(), policy=policy.default)
    assert message["Content-Language"] == "nl"
    assert "42,50" in message["Subject"] and "/pay/" in message.get_body(("plain",)).get_content()


def test_invitations_take_a_return_url_shown_after_signing(app: Flask, api: Caller,
                                                           session: Session) -> None:
    from tests.api.conftest import invite, sign_and_activate

    invitation = invite(api, return_url="https://shop.example/welcome")
    assert invitation["return_url"] == "https://shop.example/welcome"
    sign_and_activate(app, session, invitation["id"])
    from portal.mandates.links import make_invitation_token
    from portal.mandates.models import Invitation

    row = session.query(Invitation).filter_by(public_id=invitation["id"]).one()
    token = make_invitation_token(row.public_id, row.expires_at, app.config["SECRET_KEY"])
    done = api.client.get(f"/sign/{token}/done").get_data(as_text=True)
    assert 'href="https://shop.example/welcome"' in done


def test_every_event_type_and_the_webhooks_are_documented(api: Caller) -> None:
    from portal.events.catalog import EVENT_TYPES

    spec = api.client.get("/api/v1/openapi.json").get_json()
    html = api.client.get("/api/v1/docs").get_data(as_text=True)
    assert 'id="webhooks"' in html and "webhook-signature" in html
    for name in ("payment_request.created", "payment_request.paid", "payment_request.partly_paid",
                 "payment_request.overpaid", "payment_request.failed", "payment_request.expired",
                 "payment_request.withdrawn", "payment_request.reminder_sent", "refund.created",
                 "refund.succeeded", "refund.failed", "chargeback.received"):
        assert name in EVENT_TYPES and name in spec["webhooks"]
        assert f'id="event-{name}"' in html
    assert set(spec["webhooks"]) == set(EVENT_TYPES)


def test_listing_loads_refunds_and_short_links_in_one_query_each(
        app: Flask, api: Caller) -> None:
    """The list costs the same number of queries for one request as for five (no query per
    request for its refunds or its short link)."""
    from tests.queries import counted_queries

    def listing_queries() -> int:
        with counted_queries(app) as statements:
            page = api.get("/api/v1/payment-requests?limit=10")
        assert page.status_code == 200
        return len(statements)

    def paid_and_refunded() -> None:
        request = create(api)
        api.post(f"/api/v1/payment-requests/{request['id']}/payments",
                 {"amount": 4250, "source": "external"})
        assert api.post(f"/api/v1/payment-requests/{request['id']}/refunds",
                        {"amount": 500}).status_code == 201

    paid_and_refunded()
    one = listing_queries()
    for _ in range(4):
        paid_and_refunded()
    five = listing_queries()
    assert five == one
    refunds = api.get("/api/v1/payment-requests").get_json()["data"]
    assert [len(r["refunds"]) for r in refunds] == [1] * 5
