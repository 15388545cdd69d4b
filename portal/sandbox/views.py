"""The sandbox provider's pages: its checkout (iDEAL banks, test cards by name, Bancontact,
PayPal; every outcome, or cancel and go back as at a real bank; in the customer's language), and
a page per payment where the tester settles what is pending, settles refunds and makes a
chargeback later."""

from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, abort, current_app, g, redirect, render_template, request
from flask_babel import format_currency
from flask_wtf import FlaskForm
from sqlalchemy import bindparam, select
from wtforms import IntegerField, RadioField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import NumberRange, Optional, ValidationError

from portal.adapters import get_adapters
from portal.db import cipher_of, get_session
from portal.i18n import lazy_gettext as _l
from portal.mandates.models import Mandate
from portal.mandates.service import IBAN_CONTEXT
from portal.names import name_problem
from portal.payments.notifications import apply_webhook
from portal.providers import PaymentNotFound, PaymentStatus, ProviderError
from portal.sandbox.models import SandboxRefund
from portal.sandbox.provider import (
    ISSUERS,
    TEST_CARDS,
    SandboxProvider,
    add_sandbox_chargeback,
    complete_sandbox_payment,
    payer_iban,
    settle_sandbox_refund,
)
from portal.security import allow_form_redirects
from portal.sepa import IbanError, mask_iban, validate_iban
from portal.sign.forms import iban_message

bp = Blueprint("sandbox", __name__, url_prefix="/sandbox")

OUTCOMES = [SelectChoice(PaymentStatus.PAID.value, _l("Paid")),
            SelectChoice(PaymentStatus.FAILED.value, _l("Failed")),
            SelectChoice(PaymentStatus.CANCELED.value, _l("Cancelled")),
            SelectChoice(PaymentStatus.EXPIRED.value, _l("Expired")),
            SelectChoice(PaymentStatus.PENDING.value, _l("Pending (settle later)"))]
#: The name of the button that cancels and goes back, as at a real bank.
CANCEL = "cancel"
METHOD_NAMES = {"ideal": "iDEAL", "creditcard": "Card", "bancontact": "Bancontact",
                "paypal": "PayPal", "directdebit": "SEPA direct debit", None: "iDEAL"}


def _plain_name(form: FlaskForm, field: StringField) -> None:
    """The portal's rule for names (the payer's name reaches the verification record)."""
    if problem := name_problem(field.data or ""):
        raise ValidationError(f"The name {problem}.")


class SandboxCheckoutForm(FlaskForm):
    issuer = RadioField(_l("Bank"), choices=[SelectChoice(i, name) for i, name, _ in ISSUERS],
                        default="ABNANL2A")
    card = RadioField(_l("Test card"), choices=[
        SelectChoice(kind, f"{label} •••• {last4} (until {expiry[:7]}"
                     f"{', declines later charges' if behaviour == 'declined' else ''})")
        for kind, label, last4, expiry, behaviour in TEST_CARDS], default=TEST_CARDS[0][0])
    outcome = RadioField(_l("Outcome"), choices=OUTCOMES, default=PaymentStatus.PAID.value)
    payer_name = StringField(_l("Account holder"), validators=[_plain_name])
    payer_iban = StringField(_l("Pay from IBAN"), validators=[Optional()])


class SandboxActionForm(FlaskForm):
    amount = IntegerField("Amount in cents (empty: all)", validators=[Optional(),
                                                                     NumberRange(min=1)])


#: The typed IBAN's ciphertext only: the checkout loads nothing else of the mandate.
_TYPED_IBAN = select(Mandate.iban_ciphertext).where(Mandate.public_id == bindparam("public_id"))


def _typed_iban(metadata: dict) -> str | None:
    """The IBAN the customer typed, so a plain 'pay' proves the same account."""
    session = get_session()
    ciphertext = session.scalar(_TYPED_IBAN, {"public_id": metadata.get("mandate")})
    return cipher_of(session).decrypt(ciphertext, IBAN_CONTEXT) if ciphertext else None


def _provider() -> SandboxProvider:
    """The app's sandbox provider: these pages are only registered when it is the one in use."""
    provider = get_adapters().payment_provider
    if not isinstance(provider, SandboxProvider):
        abort(404)
    return provider


@bp.route("/checkout/<payment_id>", methods=["GET", "POST"])
def checkout(payment_id: str):
    session = get_session()
    provider = _provider()
    try:
        payment = provider.find(payment_id)
    except PaymentNotFound:
        abort(404)
    if payment.status != PaymentStatus.OPEN:
        return redirect(payment.redirect_url, code=303)
    g.locale_hint = payment.locale
    # Stands in for a provider's page: after paying, the customer goes on to our return URL and
    # from there, when embedded, to the merchant's page (plain http on loopback in development).
    allow_form_redirects("'self' http: https:")
    form = SandboxCheckoutForm()
    method = payment.method or "ideal"
    typed = _typed_iban(payment.metadata_)
    if not form.is_submitted():  # the typed IBAN is never shown: anyone with the URL sees this
        form.payer_name.data = payment.customer_name
        if not typed:  # a test account only: a typed IBAN is used when the field stays empty
            form.payer_iban.data = "BE68 5390 0754 7034" if method == "bancontact" else ""
    if form.validate_on_submit():
        outcome = (PaymentStatus.CANCELED if CANCEL in request.form
                   else PaymentStatus(form.outcome.data))
        try:
            iban = (validate_iban(form.payer_iban.data).iban
                    if form.payer_iban.data and outcome == PaymentStatus.PAID else typed)
        except IbanError as exc:
            form.payer_iban.errors = [iban_message(exc)]
        else:
            if method in ("ideal", "bancontact") and outcome == PaymentStatus.PAID and not iban:
                iban = "NL91ABNA0417164300"
            complete_sandbox_payment(payment, outcome, issuer=form.issuer.data, payer_iban=iban,
                                     payer_name=form.payer_name.data or payment.customer_name,
                                     card=form.card.data, session=session, now=provider.clock())
            session.commit()
            _notify(provider, payment_id)
            return redirect(payment.redirect_url, code=303)
    amount = format_currency(Decimal(payment.amount_cents) / 100, payment.currency)
    return render_template("sandbox/checkout.html", payment=payment, form=form, method=method,
                           method_name=METHOD_NAMES.get(method, method), amount=amount,
                           cancel=CANCEL, typed_masked=mask_iban(typed) if typed else None), (
        422 if form.errors else 200)


@bp.route("/payments/<payment_id>", methods=["GET", "POST"])
def payment_page(payment_id: str):
    """The tester's view of one payment: settle it if pending, settle its refunds, charge it
    back (the payer's bank taking the money back, later)."""
    session = get_session()
    provider = _provider()
    try:
        payment = provider.find(payment_id)
    except PaymentNotFound:
        abort(404)
    form = SandboxActionForm()
    error = None
    if form.validate_on_submit():
        action = request.form.get("action", "")
        try:
            if action == "chargeback":
                add_sandbox_chargeback(session, payment, form.amount.data, now=provider.clock())
            elif action in ("paid", "failed") and payment.status == PaymentStatus.PENDING:
                complete_sandbox_payment(payment, PaymentStatus(action), issuer=None,
                                         payer_name=payment.payer_name,
                                         payer_iban=payer_iban(payment), session=session,
                                         now=provider.clock())
            elif action.startswith("refund:"):
                _, refund_id, outcome = action.split(":", 2)
                refund = session.scalar(select(SandboxRefund).where(
                    SandboxRefund.refund_id == refund_id,
                    SandboxRefund.payment_id == payment.payment_id))
                if refund is None:
                    abort(404)
                settle_sandbox_refund(refund, outcome)
            else:
                abort(400)
        except (ProviderError, ValueError) as exc:
            session.rollback()
            error = str(exc)
        else:
            session.commit()
            _notify(provider, payment_id)
            return redirect(request.path, code=303)
    remote = provider.get_payment(payment_id)
    return render_template("sandbox/payment.html", payment=payment, remote=remote, form=form,
                           refunds=provider.list_refunds(payment_id), error=error,
                           chargebacks=provider.list_chargebacks(payment_id),
                           method_name=METHOD_NAMES.get(payment.method, payment.method)), (
        409 if error else 200)


def _notify(provider: SandboxProvider, payment_id: str) -> None:
    """Deliver the sandbox's webhook in-process, as a provider would (before the redirect)."""
    if current_app.config.get("SANDBOX_AUTO_WEBHOOK", True):
        apply_webhook(provider.session, provider, payment_id, clock=provider.clock)
