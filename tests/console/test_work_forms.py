"""The work forms' reading of what people type, and the API's errors put back on the inputs."""

from __future__ import annotations

import pytest

from portal.console.work_forms import (
    DEBIT,
    GENERAL,
    INVITATION,
    PAYMENT_REQUEST,
    body_from_form,
    field_errors,
)
from portal.errors import Problem


@pytest.mark.parametrize(("typed", "cents"), [
    ("42", 4200), ("42.5", 4250), ("42,50", 4250), ("€ 42.50", 4250), ("0.01", 1),
    ("1 250", 125000),
])
def test_euros_as_people_type_them(typed: str, cents: int) -> None:
    body, errors = body_from_form(PAYMENT_REQUEST, {"amount": typed, "description": "x",
                                                    "customer_name": "Jan"})
    assert errors == {} and body["amount"] == cents


@pytest.mark.parametrize("typed", ["1.234,50", "12.345", "-3", "3e2", "twelve", "4,2,0"])
def test_amounts_that_are_not_euros(typed: str) -> None:
    _body, errors = body_from_form(PAYMENT_REQUEST, {"amount": typed, "description": "x",
                                                     "customer_name": "Jan"})
    assert errors == {"amount": "Enter an amount in euros, e.g. 42.50."}


def test_the_body_nests_the_customer_and_leaves_out_what_is_empty() -> None:
    body, errors = body_from_form(INVITATION, {
        "customer_name": " Jan ", "customer_email": "", "scheme": "CORE", "send_via": "email",
        "expires_in_days": "7", "unknown": "ignored"})
    assert errors == {}
    assert body == {"customer": {"name": "Jan"}, "scheme": "CORE", "send_via": "email",
                    "expires_in_days": 7}


def test_a_checkbox_is_false_unless_ticked() -> None:
    body, _ = body_from_form(PAYMENT_REQUEST, {"amount": "5", "description": "x",
                                               "customer_name": "Jan"})
    assert body["allow_partial"] is False
    body, _ = body_from_form(PAYMENT_REQUEST, {"amount": "5", "description": "x",
                                               "customer_name": "Jan", "allow_partial": "y"})
    assert body["allow_partial"] is True


def test_api_errors_land_on_their_inputs() -> None:
    problem = Problem(422, "Invalid request", "Some fields are invalid; see errors.", errors=[
        {"field": "customer.email", "message": "Required when send_via is email."},
        {"field": "body", "message": "Something else."}])
    assert field_errors(INVITATION, problem) == {
        "customer_email": "Required when send_via is email.", GENERAL: "Something else."}


def test_a_refusal_on_a_hidden_input_is_shown_above_the_form() -> None:
    problem = Problem(422, "Debit refused", "no", errors=[
        {"field": "mandate", "message": "mandate_not_active: the mandate is invited"}])
    assert field_errors(DEBIT, problem) == {GENERAL: "mandate_not_active: the mandate is invited"}
    assert field_errors(DEBIT, Problem(409, "Invalid state", "Not now.")) == {GENERAL: "Not now."}
