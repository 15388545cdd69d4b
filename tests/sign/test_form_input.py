"""Whatever the customer types, the form answers with a specific message, never a 500."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.mandates.models import MandateStatus
from tests.sign.driver import Journey, csrf_token


@pytest.mark.parametrize(("iban", "message"), [
    ("", "Enter your IBAN."),
    ("NL91 ABNA 0417 1643 0€", "An IBAN contains only letters and digits."),
    ("XX91ABNA0417164300", "XX is not a known IBAN country code."),
    ("BR1800360305000010009795493C1", "Accounts in BR cannot be used for SEPA direct debit."),
    ("NL91ABNA041716430", "A NL IBAN has 18 characters; you entered 17."),
    ("NL92ABNA0417164300", "This IBAN contains a typing error: the check digits do not match."),
])
def test_specific_iban_messages(journey: Journey, iban: str, message: str) -> None:
    response = journey.submit(iban)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in html
    assert 'aria-invalid="true"' in html and 'id="iban-error"' in html
    assert journey.mandate().status == MandateStatus.INVITED


@pytest.mark.parametrize(("field", "data", "message"), [
    ("name", {"name": ""}, "Enter the name of the account holder."),
    ("email", {"email": "not-an-email"}, "Enter a valid email address."),
    ("consent", {"consent": False}, "Tick the box to give the mandate."),
])
def test_other_fields_are_checked(journey: Journey, field: str, data: dict, message: str) -> None:
    response = journey.submit(**data)
    assert response.status_code == 422 and message in response.get_data(as_text=True)
    assert f'id="{field}-error"'.encode() in response.data


def _live_check(journey: Journey, value: object):
    token = csrf_token(journey.open())
    return journey.client.post(f"{journey.path}/iban", json={"value": value},
                               headers={"X-CSRFToken": token})


def test_valid_iban_shows_the_bank_while_typing(journey: Journey) -> None:
    body = _live_check(journey, "NL91ABNA0417164300").get_json()
    assert body["valid"] and body["bic"] == "ABNANL2A" and body["formatted"] == "NL91 ABNA 0417 1643 00"
    wrong = _live_check(journey, "NL92ABNA0417164300").get_json()
    assert not wrong["valid"] and "check digits" in wrong["message"]
    assert _live_check(journey, 42).get_json()["valid"] is False
    assert journey.client.post(f"{journey.path}/iban", json={"value": "x"}).status_code == 400


def test_iban_as_typed_with_spaces_and_lowercase_is_accepted(journey: Journey) -> None:
    assert journey.submit(" nl91 abna 0417 1643 00 ").status_code == 303


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(text=st.one_of(st.text(max_size=60), st.from_regex(r"[A-Z]{2}[0-9]{2}[A-Z0-9 ]{0,30}")))
def test_arbitrary_iban_text_never_gives_a_server_error(journey: Journey, text: str) -> None:
    page = journey.client.get(journey.path)
    if page.status_code == 410:  # an earlier example may have completed nothing; never expected
        pytest.fail("link became unusable")
    response = journey.client.post(journey.path, data={
        "csrf_token": csrf_token(page), "name": "Sam", "email": "sam@example.org",
        "iban": text, "consent": "y"})
    assert response.status_code in (303, 422)
    live = journey.client.post(f"{journey.path}/iban", json={"value": text},
                               headers={"X-CSRFToken": csrf_token(page)})
    assert live.status_code == 200


@pytest.mark.parametrize("name", ["Eve\r\nBcc: mallory@example.org", "Eve\x00", "Eve\x1b[31m",
                                  "Eve\x85Bcc", "Eve\u2028Bcc", "Eve \u202egnp.exe",
                                  "\u2066Eve\u2069"])
def test_names_with_control_or_bidi_characters_are_refused(journey: Journey, name: str) -> None:
    response = journey.submit(name=name)
    assert response.status_code == 422
    assert ("Remove the control or text direction characters from the name."
            in response.get_data(as_text=True))
    assert journey.mandate().status == MandateStatus.INVITED


def test_names_are_stored_nfc_normalised(journey: Journey) -> None:
    assert journey.submit(name="  Zoe\u0301 Bj\u00f6rk ").status_code == 303
    assert journey.mandate().debtor_name == "Zo\u00e9 Bj\u00f6rk"
