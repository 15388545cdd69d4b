"""The signing form: name, email, IBAN and consent, with IBAN messages specific to the mistake."""

from __future__ import annotations

import unicodedata

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from portal.names import name_problem
from portal.sepa import IbanError, validate_iban

#: Customer-facing IBAN messages by :class:`IbanError` code (translated).
IBAN_MESSAGES = {
    "empty": _l("Enter your IBAN."),
    "invalid_characters": _l("An IBAN contains only letters and digits."),
    "unknown_country": _l("%(country)s is not a known IBAN country code."),
    "not_sepa": _l("Accounts in %(country)s cannot be used for SEPA direct debit."),
    "wrong_length": _l("A %(country)s IBAN has %(expected)s characters; you entered %(actual)s."),
    "wrong_check_digits": _l("This IBAN contains a typing error: the check digits do not match."),
    "invalid_structure": _l("This is not a valid %(country)s account number."),
}


def iban_message(error: IbanError) -> str:
    params = {"country": "", "expected": "", "actual": "", **error.params}
    return str(IBAN_MESSAGES.get(error.code, IBAN_MESSAGES["invalid_structure"])) % params


class SepaIban:
    """WTForms validator that keeps the validated account on the field as ``account``."""

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        try:
            field.account = validate_iban(field.data or "")
        except IbanError as exc:
            raise ValidationError(iban_message(exc)) from exc


class PlainName:
    """WTForms validator: the portal's rule for names (:mod:`portal.names`)."""

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        if name_problem(field.data or ""):
            raise ValidationError(_l("Remove the control or text direction characters from "
                                     "the name."))


def _nfc(value: str | None) -> str | None:
    return unicodedata.normalize("NFC", value).strip() if isinstance(value, str) else value


class SignMandateForm(FlaskForm):
    class Meta:
        csrf = False  # the view checks a token bound to the link (portal.sign.form_tokens)

    name = StringField(_l("Account holder name"), filters=[_nfc], validators=[
        DataRequired(_l("Enter the name of the account holder.")), PlainName(), Length(max=70)])
    email = EmailField(_l("Email address"), validators=[
        DataRequired(_l("Enter your email address.")),
        Email(_l("Enter a valid email address."), check_deliverability=False), Length(max=254)])
    iban = StringField(_l("IBAN"), validators=[SepaIban()])
    consent = BooleanField(validators=[
        DataRequired(_l("Tick the box to give the mandate."))])


def field_attrs(field, describedby: str = "", **attrs: str) -> dict[str, str]:
    """Accessible attributes for a field: ``aria-invalid`` and the ids describing it (errors)."""
    ids = describedby.split()
    if field.errors:
        attrs["aria-invalid"] = "true"
        ids.append(f"{field.id}-error")
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    return attrs
