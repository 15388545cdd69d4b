"""The billing API: invoices (each with its collection), plans, subscriptions and their changes
one at a time and in bulk; scopes, idempotency keys, cursors, problems and events."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.merchants.models import Merchant
from tests.api.conftest import Caller, make_caller
from tests.collections.conftest import Clock, active_mandate

pytestmark = pytest.mark.usefixtures("clock")


@pytest.fixture
def api(app: Flask, session: Session, merchant: Merchant) -> Caller:
    return make_caller(app, session, merchant).authorize()


@pytest.fixture
def mandate_id(session: Session, merchant: Merchant) -> tuple[str, str]:
    """An active mandate: (its id, its customer's id)."""
    mandate = active_mandate(session, merchant)
    session.commit()
    return mandate.public_id, mandate.customer.public_id


def created(response: Any, kind: str) -> dict[str, Any]:
    assert response.status_code == 201, response.get_data(as_text=True)
    body = response.get_json()
    assert response.headers["Location"].endswith(f"/api/v1/{kind}/{body['id']}")
    return body


def plan(api: Caller, **fields: Any) -> dict[str, Any]:
    return created(api.post("/api/v1/plans", {"name": "Membership", "amount": 2500,
                                             "interval": "monthly", **fields}), "plans")


def problem(response: Any, status: int, kind: str) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["type"].endswith(kind), body
    return body


def event_types(api: Caller, subject: str) -> list[str]:
    feed = api.get("/api/v1/events?limit=100").get_json()["data"]
    return [e["type"] for e in feed if subject in e["data"].values()]


# -- Invoices ------------------------------------------------------------------------------------

def test_an_invoice_is_a_debit_on_the_mandate_or_a_payment_request_without_one(
        api: Caller, mandate_id: tuple[str, str]) -> None:
    mandate, customer = mandate_id
    debit = created(api.post("/api/v1/invoices", {
        "customer_id": customer, "description": "Coaching March", "amount": 12100,
        "vat_rate": "21", "due_date": "2026-04-03"}), "invoices")
    assert (debit["collection"], debit["mandate"], debit["status"]) == ("debit", mandate, "open")
    assert debit["debit"].startswith("dbt_") and debit["number"].startswith("INV-2026")
    assert (debit["net_amount"], debit["vat_amount"], debit["amount"]) == (10000, 2100, 12100)
    assert api.get(f"/api/v1/debits/{debit['debit']}").get_json()["amount"] == 12100

    request = created(api.post("/api/v1/invoices", {
        "customer": {"name": "Kim Jansen", "email": "kim@example.org"},
        "description": "Workshop", "number": "W-1",
        "lines": [{"description": "Workshop", "quantity": 2, "unit_amount": 5000,
                   "vat_rate": "21"}, {"description": "Book", "unit_amount": 2000,
                                       "vat_rate": "9"}]}), "invoices")
    assert request["collection"] == "payment_request" and request["debit"] is None
    assert request["checkout_url"].startswith("http://localhost/pay/")
    assert [line["amount"] for line in request["lines"]] == [12100, 2180]
    assert request["amount"] == 14280 and request["number"] == "W-1"
    assert event_types(api, request["id"]) == ["invoice.created"]

    taken = api.post("/api/v1/invoices", {"customer_id": customer, "description": "again",
                                          "amount": 100, "number": "W-1"})
    assert problem(taken, 422, "validation-error")["errors"][0]["field"] == "number"
    both = api.post("/api/v1/invoices", {"customer_id": customer, "description": "x",
                                         "amount": 1, "lines": [
                                             {"description": "y", "unit_amount": 1,
                                              "vat_rate": "0"}]})
    assert problem(both, 422, "validation-error")["errors"][0]["field"] == "amount"
    bad_rate = api.post("/api/v1/invoices", {"customer_id": customer, "description": "x",
                                             "lines": [{"description": "y", "unit_amount": 1,
                                                        "vat_rate": "121"}]})
    assert problem(bad_rate, 422, "validation-error")["errors"][0]["field"] == \
        "lines[0].vat_rate"
    assert api.get(f"/api/v1/invoices/{debit['id']}").get_json() == debit


def test_invoices_page_by_cursor_filter_and_replay_an_idempotent_create(
        api: Caller, app: Flask, session: Session) -> None:
    body = {"customer": {"name": "Kim Jansen"}, "description": "Lesson", "amount": 3000}
    first = api.post("/api/v1/invoices", body, key="lesson-1")
    again = api.post("/api/v1/invoices", body, key="lesson-1")
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.get_json()["id"] == again.get_json()["id"]
    for n in range(2):
        created(api.post("/api/v1/invoices", {**body, "amount": 3001 + n}), "invoices")
    page = api.get("/api/v1/invoices?limit=2").get_json()
    assert [i["amount"] for i in page["data"]] == [3002, 3001] and page["has_more"]
    rest = api.get(f"/api/v1/invoices?limit=2&cursor={page['next_cursor']}").get_json()
    assert [i["amount"] for i in rest["data"]] == [3000] and not rest["has_more"]
    assert api.get("/api/v1/invoices?status=paid").get_json()["data"] == []
    other = make_caller(app, session).authorize()
    assert other.get(f"/api/v1/invoices/{first.get_json()['id']}").status_code == 404
    assert other.get("/api/v1/invoices").get_json()["data"] == []


def test_a_payment_entered_lowers_the_debit_and_a_void_stops_the_collection(
        api: Caller, mandate_id: tuple[str, str]) -> None:
    _, customer = mandate_id
    invoice = created(api.post("/api/v1/invoices", {
        "customer_id": customer, "description": "Coaching", "amount": 10000}), "invoices")
    paid = api.post(f"/api/v1/invoices/{invoice['id']}/payments",
                    {"amount": 4000, "method": "banktransfer"})
    assert paid.status_code == 201, paid.get_data(as_text=True)
    after = paid.get_json()
    assert (after["paid_amount"], after["open_amount"], after["status"]) == (4000, 6000, "open")
    assert after["payments"][0]["effect"] == "reduced_debit"
    assert api.get(f"/api/v1/debits/{invoice['debit']}").get_json()["amount"] == 6000
    problem(api.post(f"/api/v1/invoices/{invoice['id']}/void", {}), 409, "invoice-closed")

    fresh = created(api.post("/api/v1/invoices", {
        "customer_id": customer, "description": "Coaching", "amount": 5000}), "invoices")
    void = api.post(f"/api/v1/invoices/{fresh['id']}/void", {"reason": "sent twice"})
    assert void.status_code == 200 and void.get_json()["status"] == "void"
    assert api.get(f"/api/v1/debits/{fresh['debit']}").get_json()["status"] == "cancelled"
    problem(api.post(f"/api/v1/invoices/{fresh['id']}/void", {}), 409, "invalid-state")
    problem(api.post(f"/api/v1/invoices/{fresh['id']}/payments", {"amount": 1}), 409,
            "invoice-closed")
    assert event_types(api, fresh["id"]) == ["invoice.created", "invoice.voided"]


def test_billing_needs_its_scopes(app: Flask, session: Session, merchant: Merchant) -> None:
    payments = make_caller(app, session, merchant,
                           scopes="payments:read payments:write").authorize()
    problem(payments.get("/api/v1/invoices"), 403, "insufficient_scope")
    problem(payments.get("/api/v1/subscriptions"), 403, "insufficient_scope")
    reader = make_caller(app, session, merchant, scopes="billing:read").authorize()
    assert reader.get("/api/v1/plans").status_code == 200
    problem(reader.post("/api/v1/plans", {"name": "x", "amount": 1, "interval": "monthly"}),
            403, "insufficient_scope")


# -- Plans and subscriptions ---------------------------------------------------------------------

def test_plans_are_created_listed_and_checked(api: Caller) -> None:
    monthly = plan(api)
    yearly = plan(api, name="Yearly", amount=25000, interval="yearly", vat_rate="21.00",
                  term_periods=3)
    assert (yearly["vat_rate"], yearly["term_periods"]) == ("21", 3)
    listing = api.get("/api/v1/plans").get_json()["data"]
    assert [p["id"] for p in listing] == [yearly["id"], monthly["id"]]
    assert api.get(f"/api/v1/plans/{monthly['id']}").get_json() == monthly
    both = api.post("/api/v1/plans", {"name": "x", "amount": 1, "interval": "monthly",
                                      "term_periods": 2, "term_end_date": "2027-01-01"})
    assert problem(both, 422, "validation-error")["errors"][0]["field"] == "term_periods"
    weekly = api.post("/api/v1/plans", {"name": "x", "amount": 1, "interval": "weekly"})
    assert problem(weekly, 422, "validation-error")["errors"][0]["field"] == "interval"


def test_a_subscription_started_today_bills_its_first_period_and_is_changed_by_the_api(
        api: Caller, clock: Clock, mandate_id: tuple[str, str]) -> None:
    mandate, customer = mandate_id
    monthly, premium = plan(api), plan(api, name="Premium", amount=4000)
    sub = created(api.post("/api/v1/subscriptions", {
        "customer_id": customer, "plan": monthly["id"], "mandate": mandate,
        "anchor_day": 20}), "subscriptions")
    assert (sub["status"], sub["billed_periods"], sub["start_date"]) == ("active", 1,
                                                                          "2026-03-20")
    assert sub["next_date"] == "2026-04-20"
    invoices = api.get(f"/api/v1/invoices?subscription={sub['id']}").get_json()["data"]
    assert [(i["amount"], i["collection"], i["subscription"]) for i in invoices] == [
        (2500, "debit", sub["id"])]
    path = f"/api/v1/subscriptions/{sub['id']}"

    changed = api.post(f"{path}/change-plan", {"plan": premium["id"]}).get_json()
    assert (changed["pending_plan"], changed["pending_plan_from"]) == (premium["id"],
                                                                       "2026-04-20")
    problem(api.post(f"{path}/change-plan", {"plan": premium["id"]}), 409, "ignored-repeat")
    paused = api.post(f"{path}/pause", {"pause_from": "2026-05-01",
                                        "resume_on": "2026-07-01"}).get_json()
    assert paused["pause"] == {"pause_from": "2026-05-01", "resume_on": "2026-07-01",
                               "started": False}
    assert paused["status"] == "active"
    resumed = api.post(f"{path}/resume", {}).get_json()
    assert resumed["pause"] is None
    problem(api.post(f"{path}/resume", {}), 409, "invalid-state")
    now = api.post(f"{path}/pause", {}).get_json()  # from today, until resumed
    assert now["status"] == "paused" and now["pause"]["started"]
    problem(api.post(f"{path}/pause", {}), 409, "invalid-state")
    assert api.post(f"{path}/resume", {}).get_json()["status"] == "active"
    early = api.post(f"{path}/pause", {"pause_from": "2026-03-01"})
    assert problem(early, 422, "validation-error")["errors"][0]["field"] == "pause_from"

    ending = api.post(f"{path}/stop", {"at": "period_end"}).get_json()
    assert (ending["status"], ending["stop_on"]) == ("active", "2026-04-20")
    problem(api.post(f"{path}/stop", {"at": "period_end"}), 409, "ignored-repeat")
    stopped = api.post(f"{path}/stop", {"at": "now"}).get_json()
    assert stopped["status"] == "stopped" and stopped["stopped_at"] is not None
    problem(api.post(f"{path}/pause", {}), 409, "invalid-state")
    assert [t for t in event_types(api, sub["id"]) if t.startswith("subscription.")] == [
        "subscription.created", "subscription.period_billed", "subscription.paused",
        "subscription.resumed", "subscription.stopped"]
    assert api.get("/api/v1/subscriptions?status=stopped").get_json()["data"][0]["id"] == \
        sub["id"]


def test_a_subscription_without_a_mandate_bills_by_payment_request(api: Caller) -> None:
    monthly = plan(api)
    later = created(api.post("/api/v1/subscriptions", {
        "customer": {"name": "Kim Jansen", "email": "kim@example.org"},
        "plan": monthly["id"], "start_date": "2026-04-01", "offer_mandate": True}),
        "subscriptions")
    assert (later["billed_periods"], later["next_date"], later["anchor_day"]) == (
        0, "2026-04-01", 1)
    assert later["mandate"] is None and later["offer_mandate"]
    missing = api.post("/api/v1/subscriptions", {"customer_id": later["customer"]["id"],
                                                 "plan": "plan_" + "x" * 22})
    assert problem(missing, 422, "validation-error")["errors"][0]["field"] == "plan"
    past = api.post("/api/v1/subscriptions", {"customer_id": later["customer"]["id"],
                                              "plan": monthly["id"],
                                              "start_date": "2026-03-01"})
    assert problem(past, 422, "validation-error")["errors"][0]["field"] == "start_date"


def test_lists_filter_by_public_ids_and_an_unknown_id_matches_nothing(
        api: Caller, mandate_id: tuple[str, str]) -> None:
    """Every list's filter on another object's id: its objects when known, an empty list (not
    a 404, nor every object) when the id is unknown or another merchant's."""
    mandate, customer = mandate_id
    monthly = plan(api)
    sub = created(api.post("/api/v1/subscriptions", {
        "customer_id": customer, "plan": monthly["id"], "mandate": mandate}), "subscriptions")
    invoice = api.get(f"/api/v1/invoices?subscription={sub['id']}").get_json()["data"][0]
    request = created(api.post("/api/v1/payment-requests", {
        "amount": 1500, "description": "Extra", "customer_id": customer}), "payment-requests")
    unknown = {"customer_id": "cus_" + "x" * 22, "plan": "plan_" + "x" * 22,
               "subscription": "sub_" + "x" * 22, "mandate": "mdt_" + "x" * 22}
    for path, name, known, expected in [
            ("subscriptions", "customer_id", customer, sub["id"]),
            ("subscriptions", "plan", monthly["id"], sub["id"]),
            ("invoices", "customer_id", customer, invoice["id"]),
            ("invoices", "subscription", sub["id"], invoice["id"]),
            ("payment-requests", "customer_id", customer, request["id"]),
            ("debits", "mandate", mandate, invoice["debit"])]:
        listed = api.get(f"/api/v1/{path}?{name}={known}")
        assert listed.status_code == 200, listed.get_data(as_text=True)
        assert expected in [o["id"] for o in listed.get_json()["data"]], (path, name)
        none = api.get(f"/api/v1/{path}?{name}={unknown[name]}")
        assert (none.status_code, none.get_json()["data"]) == (200, []), (path, name)


def test_bulk_changes_many_subscriptions_all_or_nothing(
        api: Caller, session: Session, merchant: Merchant) -> None:
    monthly, premium = plan(api), plan(api, name="Premium", amount=4000)
    subs = []
    for n in range(4):
        mandate = active_mandate(session, merchant, name=f"Member {n}")
        session.commit()
        subs.append(created(api.post("/api/v1/subscriptions", {
            "customer_id": mandate.customer.public_id, "plan": monthly["id"],
            "mandate": mandate.public_id, "start_date": "2026-04-01"}), "subscriptions"))
    operations = [{"action": "pause", "subscription": subs[0]["id"],
                   "pause_from": "2026-06-01", "resume_on": "2026-09-01"},
                  {"action": "change_plan", "subscription": subs[1]["id"],
                   "plan": premium["id"]},
                  {"action": "stop", "subscription": subs[2]["id"], "at": "now"},
                  {"action": "resume", "subscription": subs[3]["id"]}]
    refused = problem(api.post("/api/v1/subscriptions/bulk", {"operations": operations}), 422,
                      "validation-error")
    assert [e["field"] for e in refused["errors"]] == ["operations[3]"]
    for before in subs:
        now = api.get(f"/api/v1/subscriptions/{before['id']}").get_json()
        assert {k: v for k, v in now.items() if v != before[k]} == {}
    wrong = api.post("/api/v1/subscriptions/bulk", {"operations": [
        {"action": "stop", "subscription": subs[0]["id"]},
        {"action": "resume", "subscription": subs[1]["id"], "plan": premium["id"]},
        {"action": "pause", "subscription": "sub_" + "x" * 22}]})
    assert [e["field"] for e in problem(wrong, 422, "validation-error")["errors"]] == [
        "operations[0].at", "operations[1].plan"]

    done = api.post("/api/v1/subscriptions/bulk", {"operations": operations[:3]}, key="b-1")
    assert done.status_code == 200, done.get_data(as_text=True)
    after = {s["id"]: s for s in done.get_json()["data"]}
    assert after[subs[0]["id"]]["pause"]["pause_from"] == "2026-06-01"
    assert after[subs[1]["id"]]["pending_plan"] == premium["id"]
    assert after[subs[2]["id"]]["status"] == "stopped"
    replay = api.post("/api/v1/subscriptions/bulk", {"operations": operations[:3]}, key="b-1")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert event_types(api, subs[2]["id"])[-1] == "subscription.stopped"


def test_the_document_describes_the_billing_endpoints(api: Caller) -> None:
    spec = api.client.get("/api/v1/openapi.json").get_json()
    for path in ("/invoices", "/invoices/{invoice_id}/void", "/plans", "/subscriptions/bulk",
                 "/subscriptions/{subscription_id}/change-plan"):
        assert f"/api/v1{path}" in spec["paths"]
    for event in ("invoice.created", "invoice.paid", "invoice.overdue", "subscription.created",
                  "subscription.paused", "subscription.resumed", "subscription.changed",
                  "subscription.stopped", "subscription.period_billed"):
        assert event in spec["webhooks"]


def test_an_invoice_as_pdf_in_the_customers_language(
        api: Caller, mandate_id: tuple[str, str]) -> None:
    from pypdf import PdfReader

    invoice = created(api.post("/api/v1/invoices", {
        "customer": {"name": "Kim Jansen", "email": "kim@example.org", "locale": "nl"},
        "description": "Workshop", "lines": [
            {"description": "Workshop", "quantity": 2, "unit_amount": 5000, "vat_rate": "21"},
            {"description": "Boek", "unit_amount": 2000, "vat_rate": "9"}]}), "invoices")
    response = api.get(f"/api/v1/invoices/{invoice['id']}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    assert f"Factuur {invoice['number']}" in text and "Kim Jansen" in text
    for amount in ("100.00", "21.00", "1.80", "142.80"):
        assert amount in text, amount
    assert invoice["checkout_url"] in text.replace("\n", "")
    assert api.get("/api/v1/invoices/in_" + "x" * 22 + "/pdf").status_code == 404


def test_billing_events_reach_the_webhook_endpoint_signed(
        api: Caller, app: Flask, session: Session, merchant: Merchant,
        mandate_id: tuple[str, str]) -> None:
    from portal.webhooks.service import configure_endpoint
    from portal.webhooks.workers import deliver_due
    from tests.webhooks.conftest import signed_with
    from tests.webhooks.receiver import Receiver

    app.config["WEBHOOK_ALLOW_PRIVATE_NETWORKS"] = True
    receiver = Receiver().start()
    try:
        secret = configure_endpoint(session, session.get(Merchant, merchant.id), receiver.url)
        session.commit()
        mandate, customer = mandate_id
        sub = created(api.post("/api/v1/subscriptions", {
            "customer_id": customer, "plan": plan(api)["id"], "mandate": mandate}),
            "subscriptions")
        api.post(f"/api/v1/subscriptions/{sub['id']}/pause", {})
        deliver_due(app)
    finally:
        receiver.stop()
    arrived = [r.json()["type"] for r in receiver.requests]
    assert sorted(t for t in arrived if t.split(".")[0] in ("invoice", "subscription")) == [
        "invoice.created", "subscription.created", "subscription.paused",
        "subscription.period_billed"]  # deliveries may arrive in any order
    assert all(signed_with(secret, r) for r in receiver.requests)
    paused = next(r.json() for r in receiver.requests if r.json()["type"] ==
                  "subscription.paused")
    assert paused["data"]["subscription"] == sub["id"] and paused["data"]["status"] == "paused"
