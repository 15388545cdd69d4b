"""What each kind of batch accepts, column by column, and how one row is checked.

Invitations, payment requests and invoices are checked with the API's own field specs
(:mod:`portal.api.inputs`, :mod:`portal.api.billing_inputs`) and its rules (expiry, channel,
scheme and signing methods, one customer: :mod:`portal.api.rules`), so a row is refused exactly
when the same request to the API would be. Mandates to import have no API twin: their rules are
the SEPA ones (:mod:`portal.sepa`)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, TypeVar

from dateutil.relativedelta import relativedelta

from portal.api.billing_inputs import INVOICE_FIELDS
from portal.api.inputs import CREATE_FIELDS, MAX_DAYS, MAX_REQUEST_DAYS, PAYMENT_REQUEST_FIELDS
from portal.api.rules import (
    delivery_channel,
    due_by_expiry,
    link_expiry,
    one_customer,
    scheme_and_methods,
)
from portal.api.validation import DATE, Field, check_object
from portal.batches.csvfile import Row
from portal.batches.models import BatchKind
from portal.collections.calendar import bank_today
from portal.errors import Problem
from portal.mandates.models import InvitationChannel, Scheme, SequenceType
from portal.merchants.models import Merchant
from portal.sepa import (
    BicError,
    IbanError,
    MandateReferenceError,
    validate_bic,
    validate_iban,
    validate_mandate_reference,
)

#: SEPA direct debit began on 2 November 2009: no mandate was signed for it before.
SEPA_START = date(2009, 11, 2)
AMOUNT_EUROS = re.compile(r"[0-9]{1,9}(?:[.,][0-9]{1,2})?")
TRUE, FALSE = ("true", "yes", "1", "y"), ("false", "no", "0", "n")
T = TypeVar("T")


@dataclass(frozen=True)
class Column:
    name: str
    #: Where the cell goes in the API body (``customer.name``); None for import-only columns.
    path: str | None = None
    required: bool = False
    #: text, integer, boolean, list (space- or pipe-separated), cents, euros, date
    type: str = "text"
    example: str = ""
    description: str = ""


@dataclass(frozen=True)
class BatchContext:
    """What checking and writing rows needs: the merchant, the time, and the portal's
    settings and adapters (given by the job, so the rules run without reaching for the app)."""

    merchant: Merchant
    now: datetime
    actor: str
    bank_available: bool = False
    sms_available: bool = False
    invitation_ttl_days: int = 14
    request_ttl_days: int = 30
    expiry_months: int = 36
    payment_settings: Any = None
    billing: Any = None


@dataclass
class Checked:
    """A row's outcome: the cleaned values (the kind's writer takes them) or its errors as
    (column, value, reason)."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[tuple[str, str, str]] = field(default_factory=list)
    #: What must be unique within the file and against the merchant's data (a mandate
    #: reference, an invoice number), with its column.
    unique: tuple[str, str] | None = None

    def fail(self, column: str, value: str, reason: str) -> None:
        self.errors.append((column, value, reason))


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    head, dot, rest = path.partition(".")
    if dot:
        _set(body.setdefault(head, {}), rest, value)
    else:
        body[head] = value


def _typed(column: Column, raw: str, checked: Checked) -> Any:
    """The cell as the API body would carry it; a value of the wrong shape is passed on as
    text so the API's own check names the problem (or reported here where it cannot)."""
    if column.type == "integer":
        return int(raw) if re.fullmatch(r"-?[0-9]{1,12}", raw) else raw
    if column.type == "boolean":
        if raw.lower() in TRUE:
            return True
        if raw.lower() in FALSE:
            return False
        checked.fail(column.name, raw, "Must be true or false.")
        return None
    if column.type == "list":
        return [item for item in re.split(r"[\s|]+", raw) if item]
    if column.type == "cents":
        if re.fullmatch(r"[0-9]{1,12}", raw) and int(raw) > 0:
            return int(raw)
        checked.fail(column.name, raw, "Must be a positive whole number of cents, e.g. 4250.")
        return None
    if column.type == "euros":
        if AMOUNT_EUROS.fullmatch(raw):
            whole, _, part = raw.replace(",", ".").partition(".")
            cents = int(whole) * 100 + int((part + "00")[:2])
            if cents > 0:
                return cents
            checked.fail(column.name, raw, "Must be more than 0.")
            return None
        checked.fail(column.name, raw, "Must be an amount in euros with at most two decimals, "
                                       "e.g. 42.50.")
        return None
    return raw


def api_body(columns: tuple[Column, ...], row: Row, checked: Checked) -> dict[str, Any]:
    body: dict[str, Any] = {}
    for column in columns:
        raw = row.cells.get(column.name, "")
        if not raw or column.path is None:
            continue
        value = _typed(column, raw, checked)
        if value is not None:
            if column.path == "amount" and "amount" in body:
                checked.fail(column.name, raw, "Give amount or amount_cents, not both.")
                continue
            _set(body, column.path, value)
    return body


def check_api_fields(fields: tuple[Field, ...], columns: tuple[Column, ...], row: Row,
                     checked: Checked) -> dict[str, Any]:
    """The row through the API's field specs; each error under the column it came from."""
    body = api_body(columns, row, checked)
    errors: list[dict[str, str]] = []
    cleaned = check_object(fields, body, "", errors)
    _report(errors, columns, row, checked)
    return cleaned


def _report(errors: list[dict[str, str]], columns: tuple[Column, ...], row: Row,
            checked: Checked) -> None:
    """The API's errors (by body field) under the columns their values came from: the first
    filled one of a field (``customer`` names the customer's columns), else its first."""
    by_path: dict[str, list[Column]] = {}
    for each in columns:
        if each.path:
            by_path.setdefault(each.path, []).append(each)
    for error in errors:
        candidates = by_path.get(error["field"]) or [
            column for path, group in by_path.items() if path.startswith(error["field"] + ".")
            for column in group]
        column: Column | None = next((c for c in candidates if row.cells.get(c.name)),
                                     candidates[0] if candidates else None)
        name = column.name if column else error["field"]
        reason = error["message"]
        if reason == "This field is required." and column is not None:
            reason = "Required."
        checked.fail(name, row.cells.get(name, ""), reason)


def apply_rule(rule: Callable[[], T], columns: tuple[Column, ...], row: Row,
               checked: Checked) -> T | None:
    """One of the API's rules (:mod:`portal.api.rules`) on the row: its result, or None with
    the refusal reported under the row's columns."""
    try:
        return rule()
    except Problem as problem:
        _report(problem.errors or [{"field": "", "message": problem.detail or problem.title}],
                columns, row, checked)
        return None


def row_channel(data: dict[str, Any], columns: tuple[Column, ...], row: Row, checked: Checked,
                ctx: BatchContext) -> InvitationChannel | None:
    """How the row's link is sent (:func:`portal.api.rules.delivery_channel`); an existing
    customer's address and number are checked when the row is written
    (:mod:`portal.batches.writers`)."""
    customer = data.get("customer") or {}
    return apply_rule(lambda: delivery_channel(
        data.get("send_via"), email=customer.get("email"), phone=customer.get("phone"),
        sms_available=ctx.sms_available, check_contact="customer_id" not in data),
        columns, row, checked)


_CUSTOMER_COLUMNS = (
    Column("customer_name", "customer.name", example="Sam de Vries",
           description="The customer's name (or give customer_id)."),
    Column("customer_email", "customer.email", example="sam@example.org"),
    Column("customer_phone", "customer.phone", example="+31612345678"),
    Column("locale", "customer.locale", example="nl",
           description="Language of the pages and messages: en, nl, de or fr."),
)


# -- Invitations --------------------------------------------------------------------------------

INVITATION_COLUMNS = (
    Column("customer_name", "customer.name", required=True, example="Sam de Vries"),
    *_CUSTOMER_COLUMNS[1:],
    Column("scheme", "scheme", example="CORE", description="CORE (default) or B2B."),
    Column("sequence_type", "sequence_type", example="recurrent",
           description="recurrent (default) or one_off."),
    Column("signing_methods", "signing_methods", type="list",
           example="payment_verification",
           description="payment_verification and/or bank_emandate (default: your setting)."),
    Column("max_amount_cents", "max_amount_cents", type="integer",
           description="B2B only: the most one collection may take, in cents."),
    Column("reason", "reason", example="Membership", description="What the mandate is for."),
    Column("external_reference", "external_reference", example="CUST-0042"),
    Column("expires_in_days", "expires_in_days", type="integer", example="14"),
    Column("send_via", "send_via", example="email", description="email, sms or none."),
    Column("return_url", "return_url"),
)


def check_invitation(row: Row, ctx: BatchContext) -> Checked:
    checked = Checked(row.line)
    data = check_api_fields(CREATE_FIELDS, INVITATION_COLUMNS, row, checked)
    if checked.errors:
        return checked
    expires_at = apply_rule(lambda: link_expiry(
        data, ctx.now, default_days=ctx.invitation_ttl_days, max_days=MAX_DAYS),
        INVITATION_COLUMNS, row, checked)
    signing = apply_rule(lambda: scheme_and_methods(
        data, ctx.merchant.signing_methods, bank_available=ctx.bank_available),
        INVITATION_COLUMNS, row, checked)
    channel = row_channel(data, INVITATION_COLUMNS, row, checked, ctx)
    if checked.errors or expires_at is None or signing is None or channel is None:
        return checked
    scheme, methods = signing
    checked.values = {**data, "scheme": scheme, "signing_methods": methods, "channel": channel,
                      "ttl": expires_at - ctx.now}
    return checked


# -- Payment requests ---------------------------------------------------------------------------

def _amount_columns(what: str) -> tuple[Column, ...]:
    return (Column("amount", "amount", type="euros", example="42.50",
                   description=f"{what} in euros (or give amount_cents)."),
            Column("amount_cents", "amount", type="cents",
                   description=f"{what} in euro cents (or give amount)."))


PAYMENT_REQUEST_COLUMNS = (
    *_amount_columns("What the customer owes"),
    Column("description", "description", required=True, example="Membership 2030"),
    Column("invoice_number", "invoice_number", example="2030-0042"),
    Column("external_reference", "external_reference"),
    *_CUSTOMER_COLUMNS,
    Column("customer_id", "customer_id", description="An existing customer (cus_…)."),
    Column("due_date", "due_date", example="2030-03-31"),
    Column("expires_in_days", "expires_in_days", type="integer", example="30"),
    Column("methods", "methods", type="list", example="ideal creditcard"),
    Column("allow_partial", "allow_partial", type="boolean", example="false"),
    Column("offer_mandate", "offer_mandate", type="boolean"),
    Column("send_via", "send_via", example="email", description="email, sms or none."),
    Column("return_url", "return_url"),
)


def check_payment_request(row: Row, ctx: BatchContext) -> Checked:
    checked = Checked(row.line)
    data = check_api_fields(PAYMENT_REQUEST_FIELDS, PAYMENT_REQUEST_COLUMNS, row, checked)
    if checked.errors:
        return checked
    apply_rule(lambda: one_customer(data), PAYMENT_REQUEST_COLUMNS, row, checked)
    if checked.errors:
        return checked
    expires_at = apply_rule(lambda: link_expiry(
        data, ctx.now, default_days=ctx.request_ttl_days, max_days=MAX_REQUEST_DAYS),
        PAYMENT_REQUEST_COLUMNS, row, checked)
    if expires_at is not None:
        apply_rule(lambda: due_by_expiry(data, expires_at), PAYMENT_REQUEST_COLUMNS, row,
                   checked)
    channel = row_channel(data, PAYMENT_REQUEST_COLUMNS, row, checked, ctx)
    if checked.errors or expires_at is None or channel is None:
        return checked
    checked.values = {**data, "expires_at": expires_at, "channel": channel.value}
    return checked


# -- Invoices -----------------------------------------------------------------------------------

INVOICE_COLUMNS = (
    *_CUSTOMER_COLUMNS,
    Column("customer_id", "customer_id", description="An existing customer (cus_…)."),
    Column("description", "description", required=True, example="Coaching March"),
    *_amount_columns("The amount, VAT included,"),
    Column("vat_rate", "vat_rate", example="21", description="VAT percentage included."),
    Column("number", "number", description="Your invoice number (default: your next one)."),
    Column("issue_date", "issue_date", example="2030-03-01"),
    Column("due_date", "due_date", example="2030-03-15"),
    Column("mandate", "mandate", description="Collect on this mandate (md_…)."),
    Column("offer_mandate", "offer_mandate", type="boolean"),
    Column("external_reference", "external_reference"),
)


def check_invoice(row: Row, ctx: BatchContext) -> Checked:
    checked = Checked(row.line)
    data = check_api_fields(INVOICE_FIELDS, INVOICE_COLUMNS, row, checked)
    if checked.errors:
        return checked
    apply_rule(lambda: one_customer(data), INVOICE_COLUMNS, row, checked)
    if "amount" not in data:
        checked.fail("amount", "", "Required (or amount_cents).")
    checked.values = data
    if data.get("number"):
        checked.unique = ("number", data["number"])
    return checked


# -- Mandates to import -------------------------------------------------------------------------

MANDATE_COLUMNS = (
    Column("reference", required=True, example="OLD-000123",
           description="The unique mandate reference it was signed with (kept as is)."),
    Column("scheme", required=True, example="CORE", description="CORE or B2B."),
    Column("signature_date", required=True, example="2024-05-17", type="date"),
    Column("iban", required=True, example="NL91ABNA0417164300"),
    Column("bic", example="ABNANL2A", description="Default: the BIC the IBAN's bank has."),
    Column("debtor_name", required=True, example="Sam de Vries"),
    Column("debtor_address_line", example="Dorpsstraat 3"),
    Column("debtor_postal_code", example="1234 AB"),
    Column("debtor_city", example="Utrecht"),
    Column("debtor_country", example="NL"),
    Column("email", example="sam@example.org"),
    Column("locale", example="nl"),
    Column("external_reference", example="CUST-0042"),
    Column("sequence_type", example="recurrent", description="recurrent (default) or one_off."),
    Column("last_sequence_type", example="RCUR",
           description="The last collection's type there: FRST or RCUR (blank: never "
                       "collected). The next debit here is then RCUR, else FRST."),
    Column("last_collection_date", type="date", example="2026-10-01"),
    Column("max_amount_cents", type="integer", description="B2B only, optional."),
    Column("reason", example="Membership"),
)
_DEBTOR_FIELDS = {
    "debtor_name": Field("debtor_name", "string", required=True, min_length=1, max_length=140,
                         format="name"),
    "debtor_address_line": Field("debtor_address_line", "string", max_length=140),
    "debtor_postal_code": Field("debtor_postal_code", "string", max_length=16),
    "debtor_city": Field("debtor_city", "string", max_length=70),
    "email": Field("email", "string", format="email", max_length=254),
    "locale": Field("locale", "string", format="locale"),
    "external_reference": Field("external_reference", "string", max_length=100),
    "reason": Field("reason", "string", max_length=70),
    "max_amount_cents": Field("max_amount_cents", "integer", minimum=1,
                              maximum=99_999_999_999),
}


def _date(raw: str, column: str, checked: Checked) -> date | None:
    try:
        if DATE.fullmatch(raw):
            return date.fromisoformat(raw)
    except ValueError:
        pass
    checked.fail(column, raw, "Must be a date like 2024-05-17.")
    return None


def check_mandate(row: Row, ctx: BatchContext) -> Checked:
    checked = Checked(row.line)
    cells = row.cells
    values: dict[str, Any] = {}
    for column in MANDATE_COLUMNS:
        if column.required and not cells.get(column.name):
            checked.fail(column.name, "", "Required.")
    try:
        if cells["reference"]:
            values["reference"] = validate_mandate_reference(cells["reference"])
            checked.unique = ("reference", values["reference"])
    except MandateReferenceError as exc:
        checked.fail("reference", cells["reference"], str(exc))
    scheme = cells["scheme"].upper()
    if scheme in Scheme.__members__:
        values["scheme"] = Scheme(scheme)
    elif scheme:
        checked.fail("scheme", cells["scheme"], "Unknown scheme: use CORE or B2B.")
    today = bank_today(ctx.now)
    signed = (_date(cells["signature_date"], "signature_date", checked)
              if cells["signature_date"] else None)
    if signed is not None:
        if signed > today:
            checked.fail("signature_date", cells["signature_date"], "Must not be in the future.")
        elif signed < SEPA_START:
            checked.fail("signature_date", cells["signature_date"],
                         "Must not be before 2009-11-02, when SEPA direct debit began.")
        values["signed_on"] = signed
    account = None
    try:
        if cells["iban"]:
            account = validate_iban(cells["iban"])
            values["iban"], values["account"] = account.iban, account
    except IbanError as exc:
        checked.fail("iban", cells["iban"], str(exc))
    if cells.get("bic"):
        try:
            values["bic"] = validate_bic(cells["bic"])
        except BicError as exc:
            checked.fail("bic", cells["bic"], str(exc))
    elif account is not None:
        values["bic"] = account.bic
    errors: list[dict[str, str]] = []
    for name, spec in _DEBTOR_FIELDS.items():
        raw = cells.get(name, "")
        if raw:
            value: Any = int(raw) if spec.kind == "integer" and re.fullmatch(
                r"[0-9]{1,12}", raw) else raw
            values[name] = spec.check(value, name, errors)
    for error in errors:
        checked.fail(error["field"], cells.get(error["field"], ""), error["message"])
    country = cells.get("debtor_country", "").upper()
    if country and not re.fullmatch(r"[A-Z]{2}", country):
        checked.fail("debtor_country", cells["debtor_country"],
                     "Must be a two-letter country code, e.g. NL.")
    values["debtor_country"] = country or None
    sequence = cells.get("sequence_type", "").lower() or SequenceType.RECURRENT.value
    if sequence not in {s.value for s in SequenceType}:
        checked.fail("sequence_type", cells["sequence_type"], "Must be recurrent or one_off.")
    else:
        values["sequence_type"] = SequenceType(sequence)
    if values.get("max_amount_cents") is not None and values.get("scheme") is not Scheme.B2B:
        checked.fail("max_amount_cents", cells["max_amount_cents"],
                     "Only B2B mandates carry a maximum amount.")
    _check_history(cells, values, checked, today, ctx)
    checked.values = values
    return checked


def _check_history(cells: dict[str, str], values: dict[str, Any], checked: Checked,
                   today: date, ctx: BatchContext) -> None:
    """The sequence history: what was collected there decides FRST or RCUR here."""
    last_type = cells.get("last_sequence_type", "").upper()
    if last_type in ("FNAL", "OOFF"):
        checked.fail("last_sequence_type", cells["last_sequence_type"],
                     "The last collection was final or one-off: the mandate is used up and "
                     "cannot be imported as active.")
    elif last_type not in ("", "FRST", "RCUR"):
        checked.fail("last_sequence_type", cells["last_sequence_type"],
                     "Must be FRST, RCUR or blank (never collected).")
    last = None
    if cells.get("last_collection_date"):
        last = _date(cells["last_collection_date"], "last_collection_date", checked)
        if last is not None and last > today:
            checked.fail("last_collection_date", cells["last_collection_date"],
                         "Must not be in the future.")
        elif last is not None and values.get("signed_on") and last < values["signed_on"]:
            checked.fail("last_collection_date", cells["last_collection_date"],
                         "Must not be before the signature date.")
    elif last_type in ("FRST", "RCUR"):
        checked.fail("last_collection_date", "", "Required when last_sequence_type is given.")
    collected = bool(last_type) or last is not None
    if collected and values.get("sequence_type") is SequenceType.ONE_OFF:
        checked.fail("sequence_type", cells.get("sequence_type", ""),
                     "A one-off mandate that was collected on is used up.")
    last_use = last or values.get("signed_on")
    if last_use is not None and last_use < today - relativedelta(months=ctx.expiry_months):
        checked.fail("last_collection_date" if last else "signature_date",
                     cells.get("last_collection_date") or cells.get("signature_date", ""),
                     f"Unused for more than {ctx.expiry_months} months: the mandate has "
                     "expired (SEPA rulebook).")
    values["collected_before"] = collected
    values["last_collected_at"] = (datetime(last.year, last.month, last.day, tzinfo=UTC)
                                   if last else None)


@dataclass(frozen=True)
class KindSpec:
    kind: BatchKind
    title: str
    columns: tuple[Column, ...]
    check: Callable[[Row, BatchContext], Checked]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns)

    @property
    def required(self) -> tuple[str, ...]:
        return tuple(column.name for column in self.columns if column.required)


KINDS: dict[BatchKind, KindSpec] = {
    BatchKind.INVITATIONS: KindSpec(BatchKind.INVITATIONS, "Invitations", INVITATION_COLUMNS,
                                    check_invitation),
    BatchKind.PAYMENT_REQUESTS: KindSpec(BatchKind.PAYMENT_REQUESTS, "Payment requests",
                                         PAYMENT_REQUEST_COLUMNS, check_payment_request),
    BatchKind.INVOICES: KindSpec(BatchKind.INVOICES, "Invoices", INVOICE_COLUMNS, check_invoice),
    BatchKind.MANDATES: KindSpec(BatchKind.MANDATES, "Mandates to import", MANDATE_COLUMNS,
                                 check_mandate),
}
