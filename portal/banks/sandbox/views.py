"""The sandbox bank over HTTP: the acquirer's three iDx endpoints, and the debtor bank's
authorisation page (log in, see the mandate, approve, reject, or say you may not sign)."""

from __future__ import annotations

import hmac
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, redirect, render_template, request
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import HiddenField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from portal.adapters import get_adapters
from portal.banks.base import Product
from portal.banks.factory import sandbox_keys
from portal.banks.pain import Party
from portal.banks.sandbox.models import SandboxBankTransaction
from portal.banks.sandbox.service import (
    SandboxContract,
    answer,
    current_status,
    decide,
    find_transaction,
    mandate_shown,
    return_url,
    sandbox_bank,
)
from portal.db import cipher_of, get_session
from portal.mandates.models import Mandate
from portal.mandates.service import debtor_iban
from portal.security import allow_form_redirects
from portal.sepa import IbanError, format_iban, validate_iban

bp = Blueprint("sandbox_bank", __name__, url_prefix="/sandbox-bank")
ENDPOINTS = ("directory", "transaction", "status")


def contract() -> SandboxContract:
    keys = sandbox_keys(current_app.config, current_app.instance_path)
    return SandboxContract(
        merchant_certificate=keys.merchant.certificate, acquirer=keys.acquirer,
        issuer=keys.issuer, base_url=current_app.config["PUBLIC_BASE_URL"],
        pending=timedelta(seconds=float(current_app.config["SANDBOX_BANK_PENDING_SECONDS"])))


def _mandate(reference: str) -> Mandate | None:
    return get_session().scalar(select(Mandate).where(Mandate.reference == reference))


def creditor_for(reference: str) -> Party | None:
    """The creditor of a mandate, as an acquirer knows it from its contract; the sandbox looks
    it up in the portal's own merchant record."""
    mandate = _mandate(reference)
    if mandate is None:
        return None
    merchant = mandate.merchant
    trade_name = merchant.display_name if merchant.display_name != merchant.legal_name else None
    return Party(merchant.creditor_id, merchant.legal_name, merchant.country,
                 (merchant.address_line, f"{merchant.postal_code} {merchant.city}"), trade_name)


@bp.post("/idx/<endpoint>")
def idx_endpoint(endpoint: str) -> Response:
    """One iDx endpoint; every answer is signed XML, errors included (HTTP 200, as iDx does)."""
    if endpoint not in ENDPOINTS:
        abort(404)
    body = answer(get_session(), endpoint, request.get_data(cache=False), contract(),
                  get_adapters().clock(), creditor_for)
    return Response(body, content_type="text/xml; charset=utf-8")


class LoginForm(FlaskForm):
    user = StringField("User id", validators=[DataRequired(), Length(max=40)])
    pin = PasswordField("PIN (any digits)", validators=[DataRequired(), Length(max=12)])


class DecisionForm(FlaskForm):
    debtor_name = StringField("Account holder", validators=[DataRequired(), Length(max=140)])
    debtor_iban = StringField("Account (IBAN)", validators=[DataRequired(), Length(max=42)])
    signer_name = StringField("Signed by", validators=[DataRequired(), Length(max=70)])
    decision = HiddenField()


def _transaction(transaction_id: str, token: str) -> SandboxBankTransaction:
    transaction = find_transaction(get_session(), transaction_id)
    if transaction is None or not hmac.compare_digest(transaction.page_token, token):
        abort(404)
    return transaction


def _typed_iban(reference: str) -> str | None:
    """The IBAN the debtor typed at the creditor, if any, so 'approve' is one click."""
    mandate = _mandate(reference)
    return debtor_iban(get_session(), mandate) if mandate is not None else None


@bp.route("/authorise/<transaction_id>/<token>", methods=["GET", "POST"])
def authorise(transaction_id: str, token: str):
    """Stands in for the debtor's online banking: log in, then decide."""
    transaction = _transaction(transaction_id, token)
    status, _ = current_status(transaction, get_adapters().clock(), contract().pending)
    page = {"transaction": transaction, "bank": sandbox_bank(transaction.issuer_bic),
            "details": mandate_shown(transaction, cipher_of(get_session())),
            "status": status.value,
            "b2b": transaction.product == Product.B2B.value,
            "creditor": creditor_for(transaction.mandate_reference)}
    if transaction.decision is not None or status.is_final:
        return render_template("sandbox_bank/closed.html", **page)
    allow_form_redirects("'self' http: https:")  # on to the creditor's return URL
    if request.method == "GET":
        return render_template("sandbox_bank/login.html", form=LoginForm(prefix="login"), **page)
    if request.form.get("step") == "login":
        return _logged_in(transaction, page)
    return _decided(transaction, page)


def _logged_in(transaction: SandboxBankTransaction, page: dict):
    login = LoginForm(prefix="login")
    if not login.validate_on_submit():
        return render_template("sandbox_bank/login.html", form=login, **page), 422
    form = DecisionForm(prefix="decide", formdata=None)
    typed = _typed_iban(transaction.mandate_reference)
    bank = page["bank"]
    form.debtor_iban.data = format_iban(typed or (bank.sample_iban if bank else ""))
    form.debtor_name.data = login.user.data
    form.signer_name.data = login.user.data
    return render_template("sandbox_bank/review.html", form=form, **page)


def _decided(transaction: SandboxBankTransaction, page: dict):
    form = DecisionForm(prefix="decide")
    if form.validate_on_submit():
        try:
            account = validate_iban(form.debtor_iban.data)
            decide(transaction, form.decision.data, cipher=cipher_of(get_session()),
                   debtor_name=form.debtor_name.data,
                   debtor_iban=account.iban, signer_name=form.signer_name.data,
                   now=get_adapters().clock())
        except IbanError as exc:
            form.debtor_iban.errors = [exc.message]
        except ValueError as exc:
            form.decision.errors = [str(exc)]
        else:
            get_session().commit()
            return redirect(return_url(transaction), code=303)
    return render_template("sandbox_bank/review.html", form=form, **page), 422


@bp.get("/left")
def left():
    """Where 'leave without deciding' goes: the creditor hears only the expiry, later."""
    return render_template("sandbox_bank/left.html")

