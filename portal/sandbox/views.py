"""The sandbox provider's checkout: pick a bank, then an outcome, as a tester would at iDEAL;
or cancel and go back, as at a real bank. In the customer's language."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, current_app, g, redirect, render_template, request
from flask_babel import format_currency
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import Session
from wtforms import RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional

from portal.adapters import get_adapters
from portal.db import get_session
from portal.mandates.models import Mandate
from portal.mandates.service import debtor_iban
from portal.providers import PaymentStatus
from portal.sandbox.provider import ISSUERS, complete_sandbox_payment, find_sandbox_payment
from portal.security import allow_form_redirects
from portal.sepa import IbanError, format_iban, validate_iban
from portal.sign.forms import iban_message
from portal.verification.service import UnknownPayment, apply_provider_status, find_payment

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

OUTCOMES = [SelectChoice(PaymentStatus.PAID.value, _l("Paid")),
            SelectChoice(PaymentStatus.FAILED.value, _l("Failed")),
            SelectChoice(PaymentStatus.CANCELED.value, _l("Cancelled")),
            SelectChoice(PaymentStatus.EXPIRED.value, _l("Expired"))]
#: The name of the button that cancels and returns, as at a real bank.
CANCEL = "cancel"


class SandboxCheckoutForm(FlaskForm):
    issuer = RadioField(_l("Bank"), choices=[SelectChoice(i, name) for i, name, _ in ISSUERS],
                        default="ABNANL2A")
    outcome = RadioField(_l("Outcome"), choices=OUTCOMES, default=PaymentStatus.PAID.value)
    payer_name = StringField(_l("Account holder"))
    payer_iban = StringField(_l("Pay from IBAN"), validators=[Optional()])


def _typed_iban(metadata: dict) -> str | None:
    """The IBAN the customer typed, so a plain 'pay' proves the same account."""
    session = get_session()
    mandate = session.scalar(select(Mandate).where(Mandate.public_id == metadata.get("mandate")))
    return debtor_iban(session, mandate) if mandate else None


@bp.route("/checkout/<payment_id>", methods=["GET", "POST"])
def checkout(payment_id: str):
    session = get_session()
    payment = find_sandbox_payment(session, payment_id)
    if payment is None:
        abort(404)
    if payment.status != PaymentStatus.OPEN:
        return redirect(payment.redirect_url, code=303)
    g.locale_hint = payment.locale
    # Stands in for a provider's page: after paying, the customer goes on to our return URL and
    # from there, when embedded, to the merchant's page (plain http on loopback in development).
    allow_form_redirects("'self' http: https:")
    form = SandboxCheckoutForm()
    typed = _typed_iban(payment.metadata_)
    if not form.is_submitted():
        form.payer_name.data = payment.customer_name
        form.payer_iban.data = format_iban(typed) if typed else ""
    if form.validate_on_submit():
        outcome = (PaymentStatus.CANCELED if CANCEL in request.form
                   else PaymentStatus(form.outcome.data))
        try:
            iban = (validate_iban(form.payer_iban.data).iban
                    if form.payer_iban.data and outcome == PaymentStatus.PAID else typed)
        except IbanError as exc:
            form.payer_iban.errors = [iban_message(exc)]
        else:
            complete_sandbox_payment(payment, outcome,
                                     issuer=form.issuer.data, payer_iban=iban,
                                     payer_name=form.payer_name.data or payment.customer_name)
            session.commit()
            if current_app.config.get("SANDBOX_AUTO_WEBHOOK", True):
                _notify(session, payment_id)
            return redirect(payment.redirect_url, code=303)
    amount = format_currency(Decimal(payment.amount_cents) / 100, payment.currency)
    return render_template("sandbox/checkout.html", payment=payment, form=form, amount=amount,
                           cancel=CANCEL), (422 if form.errors else 200)


def _notify(session: Session, payment_id: str) -> None:
    """Deliver the sandbox's webhook in-process, as a provider would before the redirect."""
    adapters = get_adapters()
    try:
        payment = find_payment(session, "sandbox", payment_id)
    except UnknownPayment:
        return
    apply_provider_status(session, payment, adapters.payment_provider, source="webhook",
                          clock=adapters.clock)
