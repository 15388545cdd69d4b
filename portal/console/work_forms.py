"""The console's work forms, declared once for parsing and rendering: each input names the field
of the API body it fills, so a form becomes the body the API validates (``validate_body`` with
the API's own declarations), and the API's field errors come back to the input they concern."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from portal.api.billing_inputs import INVOICE_FIELDS, SUBSCRIPTION_FIELDS
from portal.api.collection_inputs import DEBIT_FIELDS
from portal.api.inputs import CREATE_FIELDS, PAYMENT_REQUEST_FIELDS
from portal.api.validation import Field
from portal.errors import Problem

#: Euros as people type them: 42, 42.5, 42,50 (no thousands separators, at most 2 decimals).
_EUROS = re.compile(r"(\d{1,9})(?:[.,](\d{1,2}))?")
#: Where an error that names no input of the form is shown.
GENERAL = ""


@dataclass(frozen=True)
class Input:
    #: The form field's name (and the HTML id).
    name: str
    #: The API body field it fills: ``customer.email`` is ``{"customer": {"email": …}}``.
    path: str
    label: str
    #: text, email, tel, date, euros, integer, select, checkbox.
    kind: str = "text"
    required: bool = False
    choices: tuple[tuple[str, str], ...] = ()
    hint: str = ""
    maxlength: int | None = None


@dataclass(frozen=True)
class WorkForm:
    """One form: its inputs and the API declaration its body is validated against."""

    title: str
    inputs: tuple[Input, ...]
    fields: tuple[Field, ...]
    submit: str

    def with_choices(self, name: str, choices: tuple[tuple[str, str], ...]) -> WorkForm:
        """The form with a select's choices filled in (a merchant's plans)."""
        inputs = tuple(Input(**{**i.__dict__, "choices": choices}) if i.name == name else i
                       for i in self.inputs)
        return WorkForm(self.title, inputs, self.fields, self.submit)


def _customer(required: bool = True) -> tuple[Input, ...]:
    return (
        Input("customer_name", "customer.name", "Customer's name", required=required,
              maxlength=140),
        Input("customer_email", "customer.email", "Email", "email", maxlength=254),
        Input("customer_phone", "customer.phone", "Mobile number", "tel", maxlength=32,
              hint="International, e.g. +31 6 12345678; needed to send by SMS."),
        Input("customer_locale", "customer.locale", "Language", "select", choices=(
            ("", "The merchant's"), ("en", "English"), ("nl", "Nederlands"), ("de", "Deutsch"),
            ("fr", "Français"))),
    )


_CUSTOMER_ID = Input("customer_id", "customer_id", "Or an existing customer", maxlength=60,
                     hint="Its id (cus_…), instead of the name and contact above.")
SEND_VIA = (("none", "Show the link and its QR code here"), ("email", "Send by email"),
            ("sms", "Send by SMS"))

INVITATION = WorkForm("New invitation to sign a mandate", (
    *_customer(),
    Input("external_reference", "external_reference", "Your customer reference", maxlength=100),
    Input("scheme", "scheme", "Scheme", "select", choices=(
        ("CORE", "Core (consumers)"), ("B2B", "B2B (businesses, signed at their bank)"))),
    Input("expires_in_days", "expires_in_days", "Link valid for (days)", "integer",
          hint="Default 14, at most 90."),
    Input("send_via", "send_via", "How it reaches the customer", "select", choices=SEND_VIA),
), CREATE_FIELDS, "Create invitation")

PAYMENT_REQUEST = WorkForm("New payment request", (
    Input("amount", "amount", "Amount (€)", "euros", required=True, hint="e.g. 42.50"),
    Input("description", "description", "What it is for", required=True, maxlength=140),
    *_customer(),
    Input("invoice_number", "invoice_number", "Invoice number", maxlength=35),
    Input("due_date", "due_date", "Due date", "date"),
    Input("expires_in_days", "expires_in_days", "Payable for (days)", "integer"),
    Input("allow_partial", "allow_partial", "Allow paying in parts", "checkbox"),
    Input("send_via", "send_via", "How it reaches the customer", "select", choices=SEND_VIA),
), PAYMENT_REQUEST_FIELDS, "Create payment request")

#: At the counter the customer stands there: a name, an amount, nothing sent.
COUNTER_INVITATION = WorkForm("Invitation at the counter", (
    *_customer()[:2], _customer()[3],  # the language: the screen and the phone speak it
    Input("scheme", "scheme", "Scheme", "select", choices=(("CORE", "Core (consumers)"),)),
), CREATE_FIELDS, "Show the QR code")
COUNTER_PAYMENT = WorkForm("Payment at the counter", (
    Input("amount", "amount", "Amount (€)", "euros", required=True),
    Input("description", "description", "What it is for", required=True, maxlength=140),
    *_customer()[:2], _customer()[3],
), PAYMENT_REQUEST_FIELDS, "Show the QR code")

DEBIT = WorkForm("New debit", (
    Input("amount", "amount", "Amount (€)", "euros", required=True),
    Input("description", "description", "Description (on the debtor's statement)",
          required=True, maxlength=140),
    Input("collection_date", "collection_date", "Collection date", "date",
          hint="Default the earliest the scheme allows."),
    Input("invoice_number", "invoice_number", "Invoice number", maxlength=35),
    Input("final", "final", "Last debit on this mandate", "checkbox"),
    Input("mandate", "mandate", "Mandate", "hidden"),
), DEBIT_FIELDS, "Schedule debit")

INVOICE = WorkForm("New invoice", (
    *_customer(required=False), _CUSTOMER_ID,
    Input("description", "description", "What it is for", required=True, maxlength=140),
    Input("amount", "amount", "Amount (€, VAT included)", "euros", required=True),
    Input("vat_rate", "vat_rate", "VAT %", maxlength=6, hint="e.g. 21"),
    Input("number", "number", "Invoice number", maxlength=35,
          hint="Default the merchant's next number."),
    Input("due_date", "due_date", "Due date", "date"),
    Input("mandate", "mandate", "Collect on mandate", maxlength=60,
          hint="Its id (md_…); default the customer's active mandate."),
), INVOICE_FIELDS, "Create invoice")

SUBSCRIPTION = WorkForm("New subscription", (
    Input("plan", "plan", "Plan", "select", required=True),
    *_customer(required=False), _CUSTOMER_ID,
    Input("start_date", "start_date", "Start date", "date", hint="Default today."),
    Input("mandate", "mandate", "Collect on mandate", maxlength=60,
          hint="Its id (md_…); default the customer's active mandate."),
), SUBSCRIPTION_FIELDS, "Start subscription")


def _euros(text: str) -> int | None:
    match = _EUROS.fullmatch(text.replace(" ", "").removeprefix("€"))
    if match is None:
        return None
    return int(match[1]) * 100 + int((match[2] or "0").ljust(2, "0"))


def _place(body: dict[str, Any], path: str, value: Any) -> None:
    *parents, last = path.split(".")
    for part in parents:
        body = body.setdefault(part, {})
    body[last] = value


def body_from_form(form: WorkForm, values: Mapping[str, str]) -> tuple[dict[str, Any],
                                                                       dict[str, str]]:
    """The API body the filled-in form stands for, and the inputs that could not be read
    (euros, whole numbers, a choice not offered). Empty inputs are left out, as an API client
    would leave them out; an unticked box is false."""
    body: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in form.inputs:
        raw = (values.get(spec.name) or "").strip()
        if spec.kind == "checkbox":
            _place(body, spec.path, bool(raw))
            continue
        if not raw:
            if spec.required:
                errors[spec.name] = "This field is required."
            continue
        value: Any = raw
        if spec.kind == "euros":
            value = _euros(raw)
            if value is None:
                errors[spec.name] = "Enter an amount in euros, e.g. 42.50."
                continue
        elif spec.kind == "integer":
            if not raw.isdigit():
                errors[spec.name] = "Enter a whole number."
                continue
            value = int(raw)
        elif spec.kind == "select" and spec.choices and raw not in dict(spec.choices):
            errors[spec.name] = "Choose one of the options."
            continue
        _place(body, spec.path, value)
    return body, errors


def field_errors(form: WorkForm, problem: Problem) -> dict[str, str]:
    """The problem's errors on the inputs they concern; the rest (and a problem without field
    errors) under :data:`GENERAL`."""
    by_path = {spec.path: GENERAL if spec.kind == "hidden" else spec.name
               for spec in form.inputs}
    by_path.setdefault("customer", "customer_name")
    errors: dict[str, str] = {}
    for error in problem.errors or ():
        name = by_path.get(str(error.get("field", "")), GENERAL)
        errors.setdefault(name, str(error.get("message", "")))
    if not errors:
        errors[GENERAL] = problem.detail or problem.title
    return errors
