"""Work from the dashboard: a merchant admin invites customers, asks for payments, schedules
debits, writes invoices, starts subscriptions; withdraws and revokes; sends a payment request
again; asks the debtor to amend a mandate at their bank. Each form becomes the body the API validates and goes through the same
function as the API's endpoint, so the rules and their error messages are the API's; each
action is audited with the staff member."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy.orm import Session

from portal.adapters import get_adapters
from portal.api.validation import validate_body
from portal.api.views.debits import debit_from_body
from portal.api.views.invitations import invite_from_body
from portal.api.views.invoices import invoice_from_body
from portal.api.views.payment_requests import request_from_body
from portal.api.views.subscriptions import subscription_from_body
from portal.audit.service import record_audit
from portal.console.blueprint import bp
from portal.console.counter import invitation_state, request_state
from portal.console.forms import ActionForm
from portal.console.return_path import return_path
from portal.console.roles import Permission, requires
from portal.console.work_forms import (
    DEBIT,
    INVITATION,
    INVOICE,
    PAYMENT_REQUEST,
    SUBSCRIPTION,
    WorkForm,
    body_from_form,
    field_errors,
)
from portal.console.worklist import plan_choices, worklist
from portal.db import get_session
from portal.errors import Problem
from portal.mandates.lifecycle import IllegalTransition
from portal.mandates.links import Links
from portal.mandates.models import Invitation, InvitationPurpose, Mandate
from portal.mandates.service import (
    MandateChangeRefused,
    find_invitation,
    find_mandate,
    invite_bank_change,
    revoke_mandate,
    withdraw_invitation,
)
from portal.payments.lifecycle import InvalidTransition
from portal.payments.links import checkout_url
from portal.payments.models import PaymentRequest
from portal.payments.service import (
    Resend,
    ResendRefused,
    find_payment_request,
    resend_payment_request,
    withdraw_payment_request,
)
from portal.qr import qr_inline_svg
from portal.shortlinks.service import create_request_short_link, short_link_of

#: The longest a revocation reason may be (the API's REVOKE_FIELDS).
REASON_LENGTH = 140


def actor() -> str:
    return f"staff:{g.staff.public_id}"


def audit(session: Session, action: str, subject: str, **data: Any) -> None:
    """The console's record of what the staff member did, beside the service's own."""
    record_audit(session, action=f"console.{action}", subject=subject, actor=actor(),
                 merchant_id=g.merchant.id, now=get_adapters().clock(),
                 data={"staff": g.staff.public_id, "ip": request.remote_addr, **data})


def create_from_form(form: WorkForm, run: Callable[[Session, dict[str, Any]], Any],
                     extra: dict[str, str] | None = None
                     ) -> tuple[Any, dict[str, str], dict[str, str]]:
    """Parse the posted form into the API body, validate it with the API's declaration and run
    the API's function: (the object made or None, the values to show again, errors by input).
    Nothing is written unless it all succeeds."""
    if not ActionForm().validate_on_submit():
        abort(400)
    values = {**request.form.to_dict(), **(extra or {})}
    body, errors = body_from_form(form, values)
    if errors:
        return None, values, errors
    session = get_session()
    try:
        made = run(session, validate_body(form.fields, body))
    except Problem as problem:
        session.rollback()
        return None, values, field_errors(form, problem)
    return made, values, {}


def form_page(form: WorkForm, values: dict[str, str], errors: dict[str, str], **context: Any):
    return render_template("console/work/form.html", merchant=g.merchant, form=form,
                           values=values, errors=errors, action_form=ActionForm(),
                           **context), 422 if errors else 200


def clock():
    return get_adapters().clock()


def invitation_link(session: Session, invitation: Invitation) -> tuple[str, str | None]:
    """The signing link and the short link its QR code carries."""
    links = Links.from_config(current_app.config)
    short = short_link_of(session, invitation)
    return (links.invitation_url(invitation.public_id, invitation.expires_at),
            links.short_url(short.code) if short else None)


def request_link(session: Session, preq: PaymentRequest) -> tuple[str, str]:
    """The checkout link and the short link its QR code carries (made on first need)."""
    short = create_request_short_link(session, preq, now=clock())
    return checkout_url(preq), Links.from_config(current_app.config).short_url(short.code)


# -- The work page ------------------------------------------------------------------------------

@bp.get("/merchants/<merchant_id>/work")
@requires(Permission.WORK)
def work(merchant_id: str):
    return render_template("console/work/index.html", merchant=g.merchant,
                           work=worklist(get_session(), g.merchant, now=clock()))


# -- Invitations --------------------------------------------------------------------------------

@bp.route("/merchants/<merchant_id>/invitations/new", methods=["GET", "POST"])
@requires(Permission.WORK)
def new_invitation(merchant_id: str):
    if request.method == "GET":
        return form_page(INVITATION, {"send_via": "none"}, {})
    invitation, values, errors = create_from_form(INVITATION, lambda session, data:
                                                  invite_from_body(session, g.merchant, data,
                                                                   actor=actor(), now=clock()))
    if errors:
        return form_page(INVITATION, values, errors)
    session = get_session()
    audit(session, "create_invitation", invitation.public_id,
          mandate=invitation.mandate.public_id, channel=invitation.channel.value)
    session.commit()
    flash("Invitation created." if invitation.channel.value == "none"
          else f"Invitation created; it goes out by {invitation.channel.value}.")
    return redirect(url_for("console.invitation_detail", merchant_id=merchant_id,
                            public_id=invitation.public_id), 303)


def _invitation(public_id: str) -> Invitation:
    invitation = find_invitation(get_session(), g.merchant.id, public_id)
    if invitation is None:
        abort(404)
    return invitation


def invitation_page(invitation: Invitation, error: str | None = None, status: int = 200):
    session = get_session()
    link, short = invitation_link(session, invitation)
    return render_template(
        "console/work/invitation.html", merchant=g.merchant, invitation=invitation,
        state=invitation_state(session, invitation, clock()), link=link, short=short,
        qr=qr_inline_svg(short or link), action_form=ActionForm(), error=error), status


@bp.get("/merchants/<merchant_id>/invitations/<public_id>")
@requires(Permission.READ)
def invitation_detail(merchant_id: str, public_id: str):
    return invitation_page(_invitation(public_id))


@bp.post("/merchants/<merchant_id>/invitations/<public_id>/withdraw")
@requires(Permission.WORK)
def withdraw_invitation_view(merchant_id: str, public_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    invitation = _invitation(public_id)
    session = get_session()
    try:
        withdraw_invitation(session, invitation, actor=actor(), now=clock())
    except IllegalTransition:
        session.rollback()
        return invitation_page(invitation, "Not withdrawn: the mandate is "
                               f"{invitation.mandate.status.value} already.", 409)
    audit(session, "withdraw_invitation", invitation.public_id)
    session.commit()
    flash("Invitation withdrawn; the link no longer works.")
    return redirect(url_for("console.invitation_detail", merchant_id=merchant_id,
                            public_id=public_id), 303)


# -- Payment requests ---------------------------------------------------------------------------

@bp.route("/merchants/<merchant_id>/payment-requests/new", methods=["GET", "POST"])
@requires(Permission.WORK)
def new_payment_request(merchant_id: str):
    if request.method == "GET":
        return form_page(PAYMENT_REQUEST, {"send_via": "none"}, {})
    preq, values, errors = create_from_form(PAYMENT_REQUEST, lambda session, data:
                                            request_from_body(session, g.merchant, data,
                                                              actor=actor(), now=clock()))
    if errors:
        return form_page(PAYMENT_REQUEST, values, errors)
    session = get_session()
    audit(session, "create_payment_request", preq.public_id, amount_cents=preq.amount_cents)
    session.commit()
    flash("Payment request created.")
    return redirect(url_for("console.payment_request_detail", merchant_id=merchant_id,
                            public_id=preq.public_id), 303)


def _request(public_id: str) -> PaymentRequest:
    preq = find_payment_request(get_session(), g.merchant.id, public_id)
    if preq is None:
        abort(404)
    return preq


def request_page(preq: PaymentRequest, error: str | None = None, status: int = 200):
    session = get_session()
    link, short = request_link(session, preq)
    session.commit()  # the short link, made once
    return render_template(
        "console/work/payment_request.html", merchant=g.merchant, preq=preq,
        state=request_state(preq, clock()), link=link, short=short, qr=qr_inline_svg(short),
        action_form=ActionForm(), error=error), status


@bp.get("/merchants/<merchant_id>/payment-requests/<public_id>")
@requires(Permission.READ)
def payment_request_detail(merchant_id: str, public_id: str):
    return request_page(_request(public_id))


@bp.post("/merchants/<merchant_id>/payment-requests/<public_id>/withdraw")
@requires(Permission.WORK)
def withdraw_payment_request_view(merchant_id: str, public_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    preq = _request(public_id)
    session = get_session()
    try:
        withdraw_payment_request(session, preq, actor=actor(), now=clock(),
                                 reason=(request.form.get("reason") or "").strip()[:140] or None)
    except InvalidTransition:
        session.rollback()
        return request_page(preq, f"Not withdrawn: the request is {preq.status.value}.", 409)
    audit(session, "withdraw_payment_request", preq.public_id)
    session.commit()
    flash("Payment request withdrawn; the link no longer takes payments.")
    return redirect(url_for("console.payment_request_detail", merchant_id=merchant_id,
                            public_id=public_id), 303)


@bp.post("/merchants/<merchant_id>/payment-requests/<public_id>/resend")
@requires(Permission.RESEND_PAYMENT_REQUEST)
def resend_payment_request_view(merchant_id: str, public_id: str):
    """The link to the customer again; back to the page the button was on."""
    if not ActionForm().validate_on_submit():
        abort(400)
    preq = _request(public_id)
    session = get_session()
    try:
        outcome = resend_payment_request(session, preq, actor=actor(), now=clock(),
                                         sms_available=get_adapters().sms is not None)
    except ResendRefused as exc:
        session.rollback()
        return request_page(preq, f"Not sent: {exc}.", 409)
    if outcome is Resend.SENT:
        audit(session, "resend_payment_request", preq.public_id)
    session.commit()
    flash("The payment request is on its way again." if outcome is Resend.SENT else
          "Already sent again a moment ago.")
    return redirect(return_path(request.form.get("back"), url_for(
        "console.payment_request_detail", merchant_id=merchant_id, public_id=public_id)), 303)


# -- A mandate's work: debit, revoke, amendment --------------------------------------------------

def _mandate(public_id: str) -> Mandate:
    mandate = find_mandate(get_session(), g.merchant.id, public_id)
    if mandate is None:
        abort(404)
    return mandate


def mandate_work_page(mandate: Mandate, values: dict[str, str] | None = None,
                      errors: dict[str, str] | None = None, error: str | None = None,
                      status: int | None = None):
    errors = errors or {}
    return render_template(
        "console/work/mandate.html", merchant=g.merchant, mandate=mandate, form=DEBIT,
        values=values or {}, errors=errors, error=error, action_form=ActionForm(),
        bank=get_adapters().bank is not None), status or (422 if errors else 200)


@bp.get("/merchants/<merchant_id>/mandates/<public_id>/work")
@requires(Permission.WORK)
def mandate_work(merchant_id: str, public_id: str):
    return mandate_work_page(_mandate(public_id))


@bp.post("/merchants/<merchant_id>/mandates/<public_id>/debits")
@requires(Permission.WORK)
def new_debit(merchant_id: str, public_id: str):
    mandate = _mandate(public_id)
    debit, values, errors = create_from_form(
        DEBIT, lambda session, data: debit_from_body(session, g.merchant.id, data,
                                                     actor=actor()),
        extra={"mandate": mandate.public_id})
    if errors:
        return mandate_work_page(mandate, values, errors)
    session = get_session()
    audit(session, "create_debit", debit.public_id, mandate=mandate.public_id,
          amount_cents=debit.amount_cents)
    session.commit()
    flash(f"Debit {debit.public_id} scheduled for {debit.collection_date.isoformat()}.")
    return redirect(url_for("console.mandate_work", merchant_id=merchant_id,
                            public_id=public_id), 303)


@bp.post("/merchants/<merchant_id>/mandates/<public_id>/revoke")
@requires(Permission.WORK)
def revoke_mandate_view(merchant_id: str, public_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    mandate = _mandate(public_id)
    reason = (request.form.get("reason") or "").strip()
    if len(reason) > REASON_LENGTH:
        return mandate_work_page(mandate, error=f"The reason may be at most {REASON_LENGTH} "
                                 "characters.", status=422)
    session = get_session()
    try:
        revoke_mandate(session, mandate, reason or None, actor=actor(), now=clock())
    except IllegalTransition:
        session.rollback()
        return mandate_work_page(mandate, error=f"Not revoked: the mandate is "
                                 f"{mandate.status.value}, not active.", status=409)
    audit(session, "revoke_mandate", mandate.public_id, reason=reason or None)
    session.commit()
    flash("Mandate revoked: no more debits will be collected on it.")
    return redirect(url_for("console.mandate_work", merchant_id=merchant_id,
                            public_id=public_id), 303)


@bp.post("/merchants/<merchant_id>/mandates/<public_id>/amendment")
@requires(Permission.WORK)
def amend_mandate_view(merchant_id: str, public_id: str):
    """A new invitation for the debtor to move the mandate to another account at their bank."""
    if not ActionForm().validate_on_submit():
        abort(400)
    mandate = _mandate(public_id)
    if get_adapters().bank is None:
        return mandate_work_page(mandate, error="Bank signing (eMandates) is not configured "
                                 "on this portal, so a mandate cannot be amended here.",
                                 status=422)
    session = get_session()
    try:
        invitation = invite_bank_change(
            session, mandate, InvitationPurpose.AMEND, actor=actor(), now=clock(),
            ttl=timedelta(days=int(current_app.config["INVITATION_TTL_DAYS"])))
    except MandateChangeRefused as exc:
        session.rollback()
        return mandate_work_page(mandate, error=f"No amendment: {exc}.", status=409)
    audit(session, "request_amendment", mandate.public_id, invitation=invitation.public_id)
    session.commit()
    flash("Amendment invitation created: give the customer its link or QR code.")
    return redirect(url_for("console.invitation_detail", merchant_id=merchant_id,
                            public_id=invitation.public_id), 303)


# -- Invoices and subscriptions -----------------------------------------------------------------

@bp.route("/merchants/<merchant_id>/invoices/new", methods=["GET", "POST"])
@requires(Permission.WORK)
def new_invoice(merchant_id: str):
    if request.method == "GET":
        return form_page(INVOICE, {}, {})
    invoice, values, errors = create_from_form(INVOICE, lambda session, data: invoice_from_body(
        session, g.merchant, data, actor=actor(), now=clock()))
    if errors:
        return form_page(INVOICE, values, errors)
    session = get_session()
    audit(session, "create_invoice", invoice.public_id, number=invoice.number)
    session.commit()
    flash(f"Invoice {invoice.number} created ({invoice.public_id}).")
    return redirect(url_for("console.work", merchant_id=merchant_id), 303)


@bp.route("/merchants/<merchant_id>/subscriptions/new", methods=["GET", "POST"])
@requires(Permission.WORK)
def new_subscription(merchant_id: str):
    form = SUBSCRIPTION.with_choices("plan", plan_choices(get_session(), g.merchant))
    if request.method == "GET":
        return form_page(form, {}, {})
    subscription, values, errors = create_from_form(
        form, lambda session, data: subscription_from_body(session, g.merchant, data,
                                                           actor=actor(), now=clock()))
    if errors:
        return form_page(form, values, errors)
    session = get_session()
    audit(session, "create_subscription", subscription.public_id)
    session.commit()
    flash(f"Subscription {subscription.public_id} started.")
    return redirect(url_for("console.work", merchant_id=merchant_id), 303)
