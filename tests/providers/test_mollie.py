"""MollieProvider against the local Mollie twin: request shapes, status mapping, failures."""

from __future__ import annotations

import logging
import socket
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from portal.providers.base import (
    PaymentNotFound,
    PaymentProvider,
    PaymentRequest,
    PaymentStatus,
    ProviderError,
    ProviderUnavailable,
    Sequence,
)
from portal.providers.mollie import (
    MollieProvider,
    cents_to_mollie_value,
    mollie_value_to_cents,
    to_mollie_locale,
)

from .mollie_stub import MollieStub

PAYER = {
    "consumer_name": "J. de Vries",
    "consumer_account": "NL91ABNA0417164300",
    "consumer_bic": "ABNANL2A",
}


def make_request(**overrides: Any) -> PaymentRequest:
    fields: dict[str, Any] = {
        "amount_cents": 1,
        "currency": "EUR",
        "description": "Mandate check md_7Hx2",
        "redirect_url": "https://portal.example.org/m/md_7Hx2/return",
        "webhook_url": "https://portal.example.org/webhooks/mollie",
        "metadata": {"mandate": "md_7Hx2", "invitation": "inv_Q3k9"},
        "customer_name": "Jan de Vries",
        "customer_email": "jan@example.org",
        "locale": "nl",
    }
    fields.update(overrides)
    return PaymentRequest(**fields)


def provider_for(stub: MollieStub, http: httpx.Client, **overrides: Any) -> MollieProvider:
    options: dict[str, Any] = {"api_key": stub.api_key, "base_url": stub.base_url}
    options.update(overrides)
    return MollieProvider(client=http, **options)


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    """An HTTP client for providers built inside a test (the root `client` is Flask's)."""
    with httpx.Client(trust_env=False) as client:
        yield client


# -- create_payment -----------------------------------------------------------------------------


def test_first_payment_creates_customer_then_ideal_first_payment(mollie, mollie_stub):
    payment = mollie.create_payment(make_request())

    assert mollie_stub.api_calls() == [("POST", "/v2/customers"), ("POST", "/v2/payments")]
    customer_call, payment_call = mollie_stub.requests
    assert customer_call.json == {
        "name": "Jan de Vries",
        "email": "jan@example.org",
        "locale": "nl_NL",
        "metadata": {"mandate": "md_7Hx2", "invitation": "inv_Q3k9"},
    }
    customer_id = mollie_stub.customer(payment.provider_customer_id)["id"]
    assert payment_call.json == {
        "amount": {"currency": "EUR", "value": "0.01"},
        "description": "Mandate check md_7Hx2",
        "redirectUrl": "https://portal.example.org/m/md_7Hx2/return",
        "webhookUrl": "https://portal.example.org/webhooks/mollie",
        "method": "ideal",
        "locale": "nl_NL",
        "metadata": {"mandate": "md_7Hx2", "invitation": "inv_Q3k9"},
        "customerId": customer_id,
        "sequenceType": "first",
    }


def test_created_payment_is_open_with_stub_checkout_url(mollie, mollie_stub):
    payment = mollie.create_payment(make_request())

    assert payment.id.startswith("tr_")
    assert payment.status is PaymentStatus.OPEN
    assert payment.amount_cents == 1
    assert payment.currency == "EUR"
    assert payment.checkout_url == f"{mollie_stub.base_url}/checkout/{payment.id}"
    assert payment.provider_customer_id.startswith("cst_")
    assert payment.provider_mandate_id is None
    assert (payment.payer_name, payment.payer_iban, payment.payer_bic) == (None, None, None)
    assert payment.metadata == {"mandate": "md_7Hx2", "invitation": "inv_Q3k9"}


def test_requests_carry_bearer_key_user_agent_and_json(mollie, mollie_stub):
    mollie.create_payment(make_request())

    for request in mollie_stub.requests:
        assert request.headers["authorization"] == f"Bearer {mollie_stub.api_key}"
        assert request.headers["user-agent"].startswith("sepa-mandate-portal/")
        assert request.headers["content-type"] == "application/json"


def test_one_off_payment_creates_no_customer(mollie, mollie_stub):
    payment = mollie.create_payment(make_request(sequence=Sequence.ONEOFF))

    assert mollie_stub.api_calls() == [("POST", "/v2/payments")]
    body = mollie_stub.requests[0].json
    assert "customerId" not in body and "sequenceType" not in body
    assert payment.provider_customer_id is None


def test_missing_webhook_url_and_email_are_left_out(mollie, mollie_stub):
    mollie.create_payment(make_request(webhook_url=None, customer_email=None))

    customer_call, payment_call = mollie_stub.requests
    assert "email" not in customer_call.json
    assert "webhookUrl" not in payment_call.json


def test_unknown_locale_is_left_to_the_browser(mollie, mollie_stub):
    mollie.create_payment(make_request(locale="xx"))

    assert all("locale" not in request.json for request in mollie_stub.requests)


def test_large_amount_is_sent_and_read_back_exactly(mollie, mollie_stub):
    payment = mollie.create_payment(make_request(amount_cents=123456))

    assert mollie_stub.requests[-1].json["amount"] == {"currency": "EUR", "value": "1234.56"}
    assert payment.amount_cents == 123456
    assert mollie.get_payment(payment.id).amount_cents == 123456


def test_mollie_validation_error_names_detail_and_field(mollie, mollie_stub):
    with pytest.raises(ProviderError) as caught:
        mollie.create_payment(make_request(redirect_url="not a url"))

    error = caught.value
    assert type(error) is ProviderError
    assert error.status == 422
    assert error.retryable is False
    assert "redirect URL is missing or invalid" in str(error)
    assert "redirectUrl" in str(error)


# -- get_payment --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("mollie_status", "expected"),
    [
        ("open", PaymentStatus.OPEN),
        ("pending", PaymentStatus.PENDING),
        ("authorized", PaymentStatus.PENDING),
        ("paid", PaymentStatus.PAID),
        ("failed", PaymentStatus.FAILED),
        ("canceled", PaymentStatus.CANCELED),
        ("expired", PaymentStatus.EXPIRED),
    ],
)
def test_get_payment_maps_mollie_status(mollie, mollie_stub, mollie_status, expected):
    created = mollie.create_payment(make_request())
    mollie_stub.set_outcome(created.id, mollie_status)

    payment = mollie.get_payment(created.id)

    assert payment.status is expected
    assert payment.id == created.id


@pytest.mark.parametrize("mollie_status", ["failed", "canceled", "expired"])
def test_unsuccessful_payment_has_no_checkout_payer_or_mandate(mollie, mollie_stub, mollie_status):
    created = mollie.create_payment(make_request())
    mollie_stub.set_outcome(created.id, mollie_status)

    payment = mollie.get_payment(created.id)

    assert payment.status.is_final and not payment.status.is_success
    assert payment.checkout_url is None
    assert payment.payer_iban is None
    assert payment.provider_mandate_id is None


def test_paid_first_payment_yields_payer_and_mandate(mollie, mollie_stub):
    created = mollie.create_payment(make_request())
    mollie_stub.pay(created.id, **PAYER)

    payment = mollie.get_payment(created.id)

    assert payment.status is PaymentStatus.PAID
    assert payment.status.is_success
    assert payment.payer_name == "J. de Vries"
    assert payment.payer_iban == "NL91ABNA0417164300"
    assert payment.payer_bic == "ABNANL2A"
    (mandate,) = mollie_stub.mandates(created.provider_customer_id)
    assert mandate["status"] == "valid" and mandate["method"] == "directdebit"
    assert payment.provider_mandate_id == mandate["id"]
    assert payment.provider_customer_id == created.provider_customer_id
    assert payment.checkout_url is None
    assert ("GET", f"/v2/customers/{created.provider_customer_id}/mandates") not in (
        mollie_stub.api_calls()
    )


def test_paid_payment_without_mandate_id_takes_newest_matching_mandate(mollie, mollie_stub):
    created = mollie.create_payment(make_request())
    customer_id = created.provider_customer_id
    mollie_stub.add_mandate(
        customer_id,
        consumer_account="NL91ABNA0417164300",
        created_at=datetime(2024, 1, 1, tzinfo=UTC),
    )
    mollie_stub.pay(created.id, mandate="unlinked", **PAYER)
    expected = mollie_stub.mandates(customer_id)[0]["id"]
    later = datetime(2099, 1, 1, tzinfo=UTC)
    mollie_stub.add_mandate(
        customer_id, consumer_account="NL91ABNA0417164300", status="invalid", created_at=later
    )
    mollie_stub.add_mandate(customer_id, consumer_account="NL02RABO0123456789", created_at=later)
    mollie_stub.add_mandate(
        customer_id, consumer_account="NL91ABNA0417164300", method="creditcard", created_at=later
    )

    payment = mollie.get_payment(created.id)

    assert payment.provider_mandate_id == expected
    assert mollie_stub.api_calls()[-1] == ("GET", f"/v2/customers/{customer_id}/mandates")
    assert mollie_stub.requests[-1].query == {"limit": "250"}


def test_mandate_lookup_matches_iban_regardless_of_spacing(mollie, mollie_stub):
    created = mollie.create_payment(make_request())
    mollie_stub.pay(created.id, mandate="unlinked", **PAYER)
    mollie_stub.patch_payment(
        created.id,
        details={
            **mollie_stub.payment(created.id)["details"],
            "consumerAccount": "nl91 abna 0417 1643 00",
        },
    )

    payment = mollie.get_payment(created.id)

    assert payment.payer_iban == "NL91ABNA0417164300"
    assert (
        payment.provider_mandate_id == mollie_stub.mandates(created.provider_customer_id)[0]["id"]
    )


def test_paid_payment_without_any_mandate_reports_none(mollie, mollie_stub):
    created = mollie.create_payment(make_request())
    mollie_stub.pay(created.id, mandate="none", **PAYER)

    assert mollie.get_payment(created.id).provider_mandate_id is None


def test_open_payment_does_not_look_for_mandates(mollie, mollie_stub):
    created = mollie.create_payment(make_request())

    mollie.get_payment(created.id)

    assert mollie_stub.api_calls()[-1] == ("GET", f"/v2/payments/{created.id}")


def test_unknown_mollie_status_is_a_provider_error(mollie, mollie_stub):
    created = mollie.create_payment(make_request())
    mollie_stub.patch_payment(created.id, status="refunded")

    with pytest.raises(ProviderError, match="unknown status"):
        mollie.get_payment(created.id)


@pytest.mark.parametrize(
    "amount",
    [
        {"value": "1.5", "currency": "EUR"},
        {"value": 0.01, "currency": "EUR"},
        {"value": "1.00", "currency": "USD"},
        None,
    ],
)
def test_malformed_amount_from_mollie_is_a_provider_error(mollie, mollie_stub, amount):
    created = mollie.create_payment(make_request())
    mollie_stub.patch_payment(created.id, amount=amount)

    with pytest.raises(ProviderError, match="malformed amount"):
        mollie.get_payment(created.id)


def test_unknown_payment_is_payment_not_found(mollie, mollie_stub):
    with pytest.raises(PaymentNotFound) as caught:
        mollie.get_payment("tr_doesnotexist")

    assert caught.value.status == 404
    assert caught.value.retryable is False
    assert "No payment exists with token tr_doesnotexist" in str(caught.value)


@pytest.mark.parametrize(
    "payment_id",
    [
        "../customers",
        "tr_abc/../../customers",
        "tr_abc/../../customers/cst_x/mandates",
        "tr_abc?limit=250",
        "tr_abc#x",
        "tr_abc%2F..",
        "tr_abc\n",
        "tr_ab c",
        "tr_",
        "cst_abc",
        "TR_abc",
        "tr_" + "a" * 65,
        "",
        None,
    ],
)
def test_malformed_payment_id_is_rejected_before_any_request(mollie, mollie_stub, payment_id):
    with pytest.raises(PaymentNotFound):
        mollie.get_payment(payment_id)

    assert mollie_stub.requests == []


# -- failures -----------------------------------------------------------------------------------


def test_wrong_api_key_is_not_retryable_and_never_echoed(mollie_stub, http, caplog):
    wrong_key = "test_" + "W" * 30
    provider = provider_for(mollie_stub, http, api_key=wrong_key)

    with caplog.at_level(logging.DEBUG), pytest.raises(ProviderError) as caught:
        provider.create_payment(make_request())

    error = caught.value
    assert not isinstance(error, ProviderUnavailable)
    assert error.status == 401
    assert error.retryable is False
    assert "Missing authentication, or failed to authenticate" in str(error)
    assert wrong_key not in str(error)
    assert wrong_key not in repr(error)
    assert wrong_key not in repr(provider)
    assert wrong_key not in caplog.text
    assert mollie_stub.api_calls() == [("POST", "/v2/customers")]


def test_injected_401_is_not_retryable(mollie, mollie_stub):
    mollie_stub.fail_next(status=401)

    with pytest.raises(ProviderError) as caught:
        mollie.get_payment("tr_abc")

    assert (caught.value.status, caught.value.retryable) == (401, False)
    assert mollie_stub.api_key not in str(caught.value)


@pytest.mark.parametrize("status", [429, 500, 502, 503])
def test_rate_limit_and_server_errors_are_retryable(mollie, mollie_stub, status):
    mollie_stub.fail_next(status=status)

    with pytest.raises(ProviderUnavailable) as caught:
        mollie.create_payment(make_request())

    assert caught.value.status == status
    assert caught.value.retryable is True


def test_non_json_gateway_error_is_still_described(mollie, mollie_stub):
    mollie_stub.fail_next(status=502, body="<html>Bad Gateway</html>")

    with pytest.raises(ProviderUnavailable, match="Mollie 502 Bad Gateway"):
        mollie.get_payment("tr_abc")


def test_service_recovers_after_transient_503(mollie, mollie_stub):
    created = mollie.create_payment(make_request())
    mollie_stub.fail_next(2, status=503)

    for _ in range(2):
        with pytest.raises(ProviderUnavailable):
            mollie.get_payment(created.id)
    assert mollie.get_payment(created.id).status is PaymentStatus.OPEN


def test_timeout_is_retryable(mollie_stub, http):
    provider = provider_for(mollie_stub, http, timeout=0.2)
    mollie_stub.hang_next()

    with pytest.raises(ProviderUnavailable, match="did not answer") as caught:
        provider.get_payment("tr_abc")

    assert caught.value.retryable is True
    assert caught.value.status is None


def test_connection_refused_is_retryable(http):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    provider = MollieProvider("test_" + "a" * 30, base_url=f"http://127.0.0.1:{port}", client=http)

    with pytest.raises(ProviderUnavailable) as caught:
        provider.get_payment("tr_abc")

    assert caught.value.retryable is True


def test_api_key_with_whitespace_is_refused_without_echo():
    with pytest.raises(ValueError) as caught:
        MollieProvider("test_abc\r\nX-Evil: 1")

    assert "test_abc" not in str(caught.value)


def test_plain_http_base_url_is_refused_except_for_a_local_stub():
    with pytest.raises(ValueError, match="https"):
        MollieProvider("test_" + "a" * 30, base_url="http://api.mollie.com")
    MollieProvider("test_" + "a" * 30, base_url="http://localhost:8080").close()


# -- parse_webhook ------------------------------------------------------------------------------


def test_webhook_id_is_taken_from_the_form(mollie):
    assert mollie.parse_webhook({"id": "tr_abc"}, b"id=tr_abc") == "tr_abc"


def test_webhook_id_falls_back_to_the_raw_body(mollie, mollie_stub):
    created = mollie.create_payment(make_request())
    webhook_url, body = mollie_stub.webhook_call(created.id)

    assert webhook_url == "https://portal.example.org/webhooks/mollie"
    assert mollie.parse_webhook({}, body) == created.id


@pytest.mark.parametrize(
    ("form", "body"),
    [
        ({}, b""),
        ({"id": ""}, b"id="),
        ({"id": "ord_abc"}, b"id=ord_abc"),
        ({"id": "sub_abc"}, b"id=sub_abc"),
        ({"id": "tr_abc/../x"}, b""),
        ({"id": "tr_abc\n"}, b""),
        ({"id": "../customers"}, b""),
        ({}, b"id=tr_abc&id=tr_def"),
        ({}, b"id=tr_\xff"),
        ({}, b'{"id": "tr_abc"}'),
        ({}, b"id=tr_abc" + b"&x=" + b"a" * 2000),
    ],
)
def test_malformed_webhook_is_rejected(mollie, form, body):
    with pytest.raises(ProviderError):
        mollie.parse_webhook(form, body)


# -- interface and conversions ------------------------------------------------------------------


def test_mollie_provider_satisfies_the_interface(mollie):
    assert isinstance(mollie, PaymentProvider)
    assert mollie.name == "mollie"


@pytest.mark.parametrize(
    ("cents", "value"),
    [(0, "0.00"), (1, "0.01"), (10, "0.10"), (99, "0.99"), (100, "1.00"), (1234, "12.34"),
     (123456, "1234.56"), (10**12 + 5, "10000000000.05")],
)  # fmt: skip
def test_cents_and_mollie_values_convert_exactly(cents, value):
    assert cents_to_mollie_value(cents) == value
    assert mollie_value_to_cents(value) == cents


@given(st.integers(min_value=0, max_value=10**15))
def test_every_cent_amount_round_trips_through_mollie_values(cents):
    value = cents_to_mollie_value(cents)

    assert mollie_value_to_cents(value) == cents
    assert Decimal(value) == Decimal(cents) / 100


@pytest.mark.parametrize(
    "value",
    [
        "1",
        "1.5",
        "1.234",
        "-1.00",
        "1,00",
        "01.00",
        " 1.00",
        "1.00\n",
        "\u0661.\u0660\u0660",
        "1e2",
        "",
    ],
)
def test_malformed_mollie_values_are_refused(value):
    with pytest.raises(ValueError):
        mollie_value_to_cents(value)


def test_only_euros_are_accepted():
    with pytest.raises(ValueError):
        cents_to_mollie_value(100, "USD")
    with pytest.raises(ValueError):
        mollie_value_to_cents("1.00", "USD")
    with pytest.raises(ValueError):
        make_request(currency="USD")


def test_cents_must_be_a_non_negative_int():
    with pytest.raises(ValueError):
        cents_to_mollie_value(-1)
    with pytest.raises(TypeError):
        cents_to_mollie_value(1.0)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        make_request(amount_cents=True)
    with pytest.raises(ValueError):
        make_request(amount_cents=0)


@pytest.mark.parametrize(
    ("locale", "expected"),
    [("nl", "nl_NL"), ("nl-BE", "nl_BE"), ("nl_be", "nl_BE"), ("en", "en_US"), ("en-GB", "en_GB"),
     ("de", "de_DE"), ("fr", "fr_FR"), ("fr-CA", "fr_FR"), ("xx", None), ("", None)],
)  # fmt: skip
def test_locales_map_to_mollie_locales(locale, expected):
    assert to_mollie_locale(locale) == expected


@pytest.mark.parametrize(
    ("status", "final", "success"),
    [("open", False, False), ("pending", False, False), ("paid", True, True),
     ("failed", True, False), ("canceled", True, False), ("expired", True, False)],
)  # fmt: skip
def test_payment_status_finality(status, final, success):
    assert PaymentStatus(status).is_final is final
    assert PaymentStatus(status).is_success is success


def test_payment_request_is_immutable():
    request = make_request()
    with pytest.raises(AttributeError):
        request.amount_cents = 2  # type: ignore[misc]
    assert replace(request, amount_cents=2).amount_cents == 2
