"""The sandbox provider's checkout: pick a bank, then an outcome, as a tester would at iDEAL."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from portal.db import get_session
from portal.mandates.models import Mandate
from portal.mandates.service import debtor_iban
from portal.names import name_problem
from portal.providers import PaymentNotFound, PaymentStatus
from portal.sandbox.provider import ISSUERS, SandboxProvider, complete_sandbox_payment
from portal.security import allow_form_redirects
from portal.sepa import IbanError, mask_iban, validate_iban
from portal.verification.service import UnknownPayment, apply_provider_status, find_payment

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

OUTCOMES = [SelectChoice(PaymentStatus.PAID.value, "Paid"),
            SelectChoice(PaymentStatus.FAILED.value, "Failed"),
            SelectChoice(PaymentStatus.CANCELED.value, "Cancelled"),
            SelectChoice(PaymentStatus.EXPIRED.value, "Expired")]


def _plain_name(form: FlaskForm, field: StringField) -> None:
    """The portal's rule for names (the payer's name reaches the verification record)."""
    if problem := name_problem(field.data or ""):
        raise ValidationError(f"The name {problem}.")


class SandboxCheckoutForm(FlaskForm):
    issuer = RadioField("Bank", choices=[SelectChoice(i, name) for i, name, _ in ISSUERS],
                        default="ABNANL2A")
    outcome = RadioField("Outcome", choices=OUTCOMES, default=PaymentStatus.PAID.value)
    payer_name = StringField("Account holder", validators=[_plain_name])
    payer_iban = StringField("Pay from IBAN", validators=[Optional()])


def _typed_iban(metadata: dict) -> str | None:
    """The IBAN the customer typed, so a plain 'pay' proves the same account."""
    session = get_session()
    mandate = session.scalar(select(Mandate).where(Mandate.public_id == metadata.get("mandate")))
    return debtor_iban(session, mandate) if mandate else None


@bp.route("/checkout/<payment_id>", methods=["GET", "POST"])
def checkout(payment_id: str):
    session = get_session()
    provider = SandboxProvider(session, current_app.config["PUBLIC_BASE_URL"])
    try:
        payment = provider.find(payment_id)
    except PaymentNotFound:
        abort(404)
    if payment.status != PaymentStatus.OPEN:
        return redirect(payment.redirect_url, code=303)
    # Stands in for a provider's page: after paying, the customer goes on to our return URL and
    # from there, when embedded, to the merchant's page (plain http on loopback in development).
    allow_form_redirects("'self' http: https:")
    form = SandboxCheckoutForm()
    typed = _typed_iban(payment.metadata_)
    if not form.is_submitted():  # the typed IBAN is never shown: anyone with the URL sees this
        form.payer_name.data = payment.customer_name
    if form.validate_on_submit():
        try:
            iban = validate_iban(form.payer_iban.data).iban if form.payer_iban.data else typed
        except IbanError as exc:
            form.payer_iban.errors = [exc.message]
        else:
            complete_sandbox_payment(payment, PaymentStatus(form.outcome.data),
                                     issuer=form.issuer.data, payer_iban=iban,
                                     payer_name=form.payer_name.data or payment.customer_name)
            session.commit()
            if current_app.config.get("SANDBOX_AUTO_WEBHOOK", True):
                _notify(provider, payment_id)
            return redirect(payment.redirect_url, code=303)
    return render_template("sandbox/checkout.html", payment=payment, form=form,
                           typed_masked=mask_iban(typed) if typed else None), (
        422 if form.errors else 200)


def _notify(provider: SandboxProvider, payment_id: str) -> None:
    """Deliver the sandbox's webhook in-process, as a provider would before the redirect."""
    try:
        payment = find_payment(provider.session, provider.name, payment_id)
    except UnknownPayment:
        return
    apply_provider_status(provider.session, payment, provider, source="webhook")
