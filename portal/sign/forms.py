"""The signing form: name, email, IBAN and consent, with IBAN messages specific to the mistake."""

from __future__ import annotations

import unicodedata

from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length, ValidationError

from portal.banks.base import Directory
from portal.i18n import lazy_gettext as _l
from portal.mandates.models import SigningMethod
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


#: How each method is offered on the page.
METHOD_LABELS = {
    SigningMethod.PAYMENT_VERIFICATION: _l("Pay one cent (iDEAL) from the account"),
    SigningMethod.BANK_EMANDATE: _l("Sign at my bank"),
}


class SepaIban:
    """WTForms validator that keeps the validated account on the field as ``account``; the
    IBAN may stay empty when the debtor signs at their bank (the bank reports the account)."""

    def __call__(self, form: FlaskForm, field: StringField) -> None:
        field.account = None
        if not (field.data or "").strip() and form.signs_at_bank():
            return
        try:
            field.account = validate_iban(field.data or "")
        except IbanError as exc:
            raise ValidationError(iban_message(exc)) from exc


class DebtorBankChosen:
    """Signing at the bank needs the bank: chosen, or known from the IBAN's BIC."""

    def __call__(self, form: FlaskForm, field: SelectField) -> None:
        if not form.signs_at_bank() or field.data:
            return
        raise ValidationError(_l("Choose your bank."))


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
    method = RadioField(_l("How do you want to sign?"), choices=[], validate_choice=False)
    debtor_bank = SelectField(_l("Your bank"), choices=[], validate_choice=False,
                              validators=[DebtorBankChosen()])
    iban = StringField(_l("IBAN"), validators=[SepaIban()])
    consent = BooleanField(validators=[
        DataRequired(_l("Tick the box to give the mandate."))])

    def offer(self, methods: tuple[SigningMethod, ...], directory: Directory | None) -> None:
        """Offer these methods (the first preselected) and, for the bank, the directory."""
        self.methods = methods
        self.directory = directory
        self.method.choices = [(m.value, METHOD_LABELS[m]) for m in methods]
        if self.method.data not in {m.value for m in methods}:
            self.method.data = methods[0].value if methods else None
        banks = directory.banks if directory else ()
        self.debtor_bank.choices = [("", _l("Choose your bank"))] + [
            (b.bic, b.name) for b in banks]

    def signs_at_bank(self) -> bool:
        return self.method.data == SigningMethod.BANK_EMANDATE.value

    def chosen_method(self) -> SigningMethod:
        return SigningMethod(self.method.data)

    def validate(self, extra_validators=None) -> bool:  # type: ignore[no-untyped-def]
        """As WTForms does, after narrowing the bank to the directory and, when none was
        chosen, taking the bank of the IBAN's BIC."""
        if self.signs_at_bank():
            known = {b.bic for b in self.directory.banks} if self.directory else set()
            if self.debtor_bank.data not in known:
                self.debtor_bank.data = ""  # not a bank we can send the debtor to
            if not self.debtor_bank.data and (self.iban.data or "").strip():
                try:
                    self.preselect_bank(validate_iban(self.iban.data).bic)
                except IbanError:
                    pass  # the IBAN's own validator explains
        return super().validate(extra_validators)

    def preselect_bank(self, bic: str | None) -> None:
        """Choose the bank of this BIC, if the debtor has not chosen one and it is listed."""
        if self.directory is None or self.debtor_bank.data:
            return
        bank = self.directory.find(bic)
        if bank is not None:
            self.debtor_bank.data = bank.bic


def field_attrs(field, describedby: str = "", **attrs: str) -> dict[str, str]:
    """Accessible attributes for a field: ``aria-invalid`` and the ids describing it (errors)."""
    ids = describedby.split()
    if field.errors:
        attrs["aria-invalid"] = "true"
        ids.append(f"{field.id}-error")
    if ids:
        attrs["aria-describedby"] = " ".join(ids)
    return attrs
