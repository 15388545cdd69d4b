"""Strict input: every bad request is a problem with field errors, never a 500."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.mandates.models import Invitation
from tests.api.conftest import Caller

URL = "/api/v1/invitations"


def _errors(response, status: int = 422) -> dict[str, str]:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == status and body["title"] and body["type"]
    return {e["field"]: e["message"] for e in body.get("errors", [])}


@pytest.mark.parametrize("raw", ['{"customer": ', "{'customer': 1}", "[1,", "NaN",
                                 '{"customer": {"name": "a", "name": "b"}}', "\xff\xfe"])
def test_malformed_json_is_400(api: Caller, raw: str) -> None:
    response = api.client.post(URL, data=raw.encode("latin-1"), headers={
        **api.headers, "Content-Type": "application/json"})
    _errors(response, 400)
    assert response.get_json()["type"].endswith("/malformed-json")


def test_wrong_content_type_is_415(api: Caller) -> None:
    response = api.client.post(URL, data="customer=Sam", headers={
        **api.headers, "Content-Type": "application/x-www-form-urlencoded"})
    _errors(response, 415)


def test_unknown_fields_are_named(api: Caller) -> None:
    errors = _errors(api.post(URL, {"customer": {"name": "Sam", "iban": "NL.."}, "amount": 1}))
    assert errors == {"customer.iban": "Unknown field.", "amount": "Unknown field."}


def test_wrong_types_and_missing_fields(api: Caller) -> None:
    assert _errors(api.post(URL, {})) == {"customer": "This field is required."}
    assert _errors(api.post(URL, [])) == {"body": "Must be a JSON object."}
    errors = _errors(api.post(URL, {"customer": {"name": 5, "email": ["x"]},
                                    "expires_in_days": "7", "scheme": 1}))
    assert errors == {"customer.name": "Must be a string.", "customer.email": "Must be a string.",
                      "expires_in_days": "Must be an integer.", "scheme": "Must be a string."}
    assert _errors(api.post(URL, {"customer": "Sam"})) == {"customer": "Must be an object."}
    assert _errors(api.post(URL, {"customer": {"name": "Sam"}, "expires_in_days": True})) == {
        "expires_in_days": "Must be an integer."}


def test_bad_enums_email_locale_phone_and_text(api: Caller) -> None:
    errors = _errors(api.post(URL, {
        "customer": {"name": "  ", "email": "not-an-email", "locale": "es", "phone": "0612"},
        "scheme": "COR", "sequence_type": "monthly", "send_via": "pigeon"}))
    assert errors == {
        "customer.name": "Must not be blank.",
        "customer.email": "Must be a valid email address.",
        "customer.locale": "Must be one of: en, nl, de, fr.",
        "customer.phone": "Must be an international number like +31612345678 (E.164).",
        "scheme": "Must be one of: CORE, B2B.",
        "sequence_type": "Must be one of: recurrent, one_off.",
        "send_via": "Must be one of: email, sms, none.",
    }
    errors = _errors(api.post(URL, {"customer": {"name": "Sam\x00"},
                                    "external_reference": "x" * 101}))
    assert errors == {"customer.name": "Must not contain control characters.",
                      "external_reference": "Must be at most 100 characters."}
    lone_surrogate = b'{"customer": {"name": "\\ud800"}}'
    response = api.client.post(URL, data=lone_surrogate, headers={
        **api.headers, "Content-Type": "application/json"})
    assert _errors(response) == {"customer.name": "Must be valid Unicode text."}


def test_expiry_rules(api: Caller) -> None:
    now = datetime.now(UTC)
    cases = {
        (now - timedelta(minutes=1)).isoformat(): "Must be in the future.",
        (now + timedelta(days=91)).isoformat(): "Must be at most 90 days ahead.",
        "2030-01-01T00:00:00": "Must be an ISO 8601 date-time with a time zone, e.g. "
                               "2030-01-31T12:00:00Z.",
        "tomorrow": "Must be an ISO 8601 date-time with a time zone, e.g. 2030-01-31T12:00:00Z.",
    }
    for value, message in cases.items():
        assert _errors(api.post(URL, {"customer": {"name": "Sam"}, "expires_at": value})) == {
            "expires_at": message}
    both = _errors(api.post(URL, {"customer": {"name": "Sam"}, "expires_in_days": 3,
                                  "expires_at": (now + timedelta(days=2)).isoformat()}))
    assert set(both) == {"expires_at", "expires_in_days"}
    assert _errors(api.post(URL, {"customer": {"name": "Sam"}, "expires_in_days": 0})) == {
        "expires_in_days": "Must be at least 1."}


def test_invalid_requests_change_nothing(api: Caller, session: Session) -> None:
    api.post(URL, {"customer": {"name": "Sam"}, "bogus": 1})
    assert session.scalar(select(func.count()).select_from(Invitation)) == 0


@pytest.mark.parametrize("query, field", [
    ("limit=0", "limit"), ("limit=101", "limit"), ("limit=abc", "limit"), ("limit=1e3", "limit"),
    ("status=happy", "status"), ("scheme=core", "scheme"), ("color=red", "color"),
    ("cursor=bm9wZQ", "cursor"), ("external_reference=%00", "external_reference"),
    ("starting_after=md_x&cursor=abc", "starting_after"),
])
def test_bad_query_parameters_are_422_with_the_parameter_named(
        api: Caller, query: str, field: str) -> None:
    assert field in _errors(api.get(f"/api/v1/mandates?{query}"))


def test_unknown_api_paths_and_methods_are_problems(api: Caller) -> None:
    _errors(api.get("/api/v1/payments"), 404)
    response = api.client.delete("/api/v1/mandates", headers=api.headers)
    _errors(response, 405)
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize(("name", "message"), [
    ("Eve\r\nBcc: x@example.org", "Must not contain control characters."),
    ("Eve\x85", "Must not contain control characters."),
    ("Eve\u2028Bcc", "Must not contain control characters or line breaks."),
    ("Eve \u202egnp.exe", "Must not contain text direction override characters."),
    ("\u2066Eve\u2069", "Must not contain text direction override characters."),
])
def test_customer_names_follow_the_portal_rule_for_names(api: Caller, name: str,
                                                         message: str) -> None:
    assert _errors(api.post(URL, {"customer": {"name": name}})) == {"customer.name": message}


def test_customer_names_are_stored_nfc_normalised(api: Caller, session: Session) -> None:
    response = api.post(URL, {"customer": {"name": "Zoe\u0301"}})
    assert response.status_code == 201 and response.get_json()["customer"]["name"] == "Zo\u00e9"
