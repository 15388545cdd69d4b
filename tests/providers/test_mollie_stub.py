"""The Mollie twin behaves like Mollie's documented API v2, so the adapter tests mean something."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .mollie_stub import MollieStub

VALID_PAYMENT = {
    "amount": {"currency": "EUR", "value": "0.01"},
    "description": "Mandate check",
    "redirectUrl": "https://portal.example.org/return",
    "method": "ideal",
}


@pytest.fixture
def api(mollie_stub: MollieStub) -> Any:
    headers = {"Authorization": f"Bearer {mollie_stub.api_key}"}
    with httpx.Client(base_url=mollie_stub.base_url, headers=headers, trust_env=False) as client:
        yield client


def test_missing_or_wrong_key_gets_mollie_401(mollie_stub):
    with httpx.Client(base_url=mollie_stub.base_url, trust_env=False) as anonymous:
        missing = anonymous.get("/v2/payments/tr_abc")
        live = anonymous.get(
            "/v2/payments/tr_abc", headers={"Authorization": "Bearer live_" + "a" * 30}
        )

    for response in (missing, live):
        assert response.status_code == 401
        assert response.headers["content-type"] == "application/hal+json"
        problem = response.json()
        assert problem["status"] == 401
        assert problem["title"] == "Unauthorized Request"
        assert problem["detail"] == "Missing authentication, or failed to authenticate"
        assert problem["_links"]["documentation"]["href"].startswith("https://docs.mollie.com/")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": {"currency": "EUR", "value": "1.5"}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": 0.01}}, "amount.value"),
        ({"amount": {"currency": "EUR", "value": "0.00"}}, "amount.value"),
        ({"amount": {"currency": "USD", "value": "0.01"}}, "amount.currency"),
        ({"amount": None}, "amount"),
        ({"redirectUrl": None}, "redirectUrl"),
        ({"description": ""}, "description"),
        ({"webhookUrl": "not a url"}, "webhookUrl"),
        ({"locale": "nl"}, "locale"),
        ({"sequenceType": "first"}, "customerId"),
        ({"customerId": "cst_unknown", "sequenceType": "first"}, "customerId"),
        ({"metadata": {"blob": "x" * 2000}}, "metadata"),
    ],
)
def test_invalid_payment_gets_422_naming_the_field(api, change, field):
    body = {**VALID_PAYMENT, **change}
    body = {key: value for key, value in body.items() if value is not None}

    response = api.post("/v2/payments", json=body)

    assert response.status_code == 422
    problem = response.json()
    assert (problem["status"], problem["title"], problem["field"]) == (
        422,
        "Unprocessable Entity",
        field,
    )
    assert problem["detail"]


def test_invalid_customer_email_gets_422(api):
    response = api.post("/v2/customers", json={"name": "Jan", "email": "not-an-email"})

    assert response.status_code == 422
    assert response.json()["field"] == "email"


def test_payment_has_mollie_shape_and_checkout_link(api, mollie_stub):
    customer = api.post("/v2/customers", json={"name": "Jan"}).json()
    response = api.post(
        "/v2/payments",
        json={**VALID_PAYMENT, "customerId": customer["id"], "sequenceType": "first"},
    )

    assert response.status_code == 201
    payment = response.json()
    assert payment["resource"] == "payment"
    assert payment["id"].startswith("tr_") and customer["id"].startswith("cst_")
    assert payment["status"] == "open"
    assert payment["amount"] == {"value": "0.01", "currency": "EUR"}
    assert payment["sequenceType"] == "first"
    assert payment["customerId"] == customer["id"]
    checkout = payment["_links"]["checkout"]["href"]
    assert checkout == f"{mollie_stub.base_url}/checkout/{payment['id']}"
    assert httpx.get(checkout, trust_env=False).status_code == 200


def test_paying_a_first_payment_creates_a_valid_directdebit_mandate(api, mollie_stub):
    customer = api.post("/v2/customers", json={"name": "Jan"}).json()
    payment = api.post(
        "/v2/payments",
        json={**VALID_PAYMENT, "customerId": customer["id"], "sequenceType": "first"},
    ).json()

    mollie_stub.pay(payment["id"], consumer_name="J. Jansen", consumer_account="NL02RABO0123456789")
    paid = api.get(f"/v2/payments/{payment['id']}").json()
    listing = api.get(f"/v2/customers/{customer['id']}/mandates").json()

    assert paid["status"] == "paid"
    assert paid["details"]["consumerName"] == "J. Jansen"
    assert "checkout" not in paid["_links"]
    (mandate,) = listing["_embedded"]["mandates"]
    assert listing["count"] == 1
    assert mandate["id"] == paid["mandateId"] and mandate["id"].startswith("mdt_")
    assert (mandate["status"], mandate["method"]) == ("valid", "directdebit")
    assert mandate["details"]["consumerAccount"] == "NL02RABO0123456789"
    assert len(mandate["signatureDate"]) == 10
    single = api.get(f"/v2/customers/{customer['id']}/mandates/{mandate['id']}")
    assert single.json() == mandate


def test_unknown_payment_gets_mollie_404(api):
    response = api.get("/v2/payments/tr_nope")

    assert response.status_code == 404
    assert response.json()["detail"] == "No payment exists with token tr_nope."


def test_requests_are_recorded_in_order(api, mollie_stub):
    api.post("/v2/customers", json={"name": "Jan"})
    api.get("/v2/payments/tr_nope", params={"testmode": "true"})

    first, second = mollie_stub.requests
    assert (first.method, first.path, first.json) == ("POST", "/v2/customers", {"name": "Jan"})
    assert (second.method, second.path, second.query) == (
        "GET",
        "/v2/payments/tr_nope",
        {"testmode": "true"},
    )
    assert second.headers["authorization"] == f"Bearer {mollie_stub.api_key}"


def test_injected_failures_apply_to_the_next_requests_only(api, mollie_stub):
    mollie_stub.fail_next(2, status=503)

    statuses = [api.post("/v2/customers", json={}).status_code for _ in range(3)]

    assert statuses == [503, 503, 201]
