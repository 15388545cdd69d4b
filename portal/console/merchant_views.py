"""Console pages of one merchant: the list of merchants in view, a merchant's dashboard, its
contact settings; and two of the actions support may take: resend an invitation, replay a webhook
(each returns to the page its form was on).
Each goes through the same service as the API or the command line, and is audited with the
staff member."""

from __future__ import annotations

from flask import abort, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from portal.adapters import get_adapters
from portal.audit.service import record_audit
from portal.bookkeeping.chart import weekly_chart
from portal.bookkeeping.service import build_report, month_period
from portal.collections.calendar import bank_today
from portal.console.blueprint import bp
from portal.console.dashboard import dashboard
from portal.console.forms import ActionForm, ContactForm
from portal.console.return_path import return_path
from portal.console.roles import Permission, requires
from portal.db import get_session
from portal.ids import looks_like
from portal.mail.service import resend_invitation_email
from portal.mandates.models import Invitation
from portal.merchants.models import Merchant
from portal.merchants.service import MerchantInputError, update_contact
from portal.webhooks.service import replay_event


def _actor() -> str:
    return f"staff:{g.staff.public_id}"


@bp.get("/merchants")
@requires(Permission.READ)
def merchants():
    found = list(get_session().scalars(select(Merchant).where(g.scope.condition(Merchant.id))
                                       .order_by(Merchant.display_name, Merchant.id)))
    return render_template("console/merchants.html", merchants=found)


@bp.get("/merchants/<merchant_id>/")
@requires(Permission.READ)
def merchant_home(merchant_id: str):
    """The merchant's dashboard: what stands, and what needs action."""
    db = get_session()
    now = get_adapters().clock()
    record_audit(db, action="console.view_dashboard", subject=g.merchant.public_id,
                 actor=_actor(), merchant_id=g.merchant.id, now=now,
                 data={"staff": g.staff.public_id, "ip": request.remote_addr})
    db.commit()
    month = f"{bank_today(now):%Y-%m}"
    weeks = build_report(db, g.merchant.id, *month_period(month)).weeks
    return render_template("console/dashboard.html", merchant=g.merchant,
                           board=dashboard(db, g.merchant, now=now), action_form=ActionForm(),
                           chart=weekly_chart(weeks), month=month)


@bp.route("/merchants/<merchant_id>/settings", methods=["GET", "POST"])
@requires(Permission.SETTINGS)
def merchant_settings(merchant_id: str):
    merchant = g.merchant
    form = ContactForm(data={"contact_email": merchant.contact_email or "",
                             "reply_to_email": merchant.reply_to_email or ""}
                       if request.method == "GET" else None)
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        db = get_session()
        try:
            update_contact(db, merchant, contact_email=form.contact_email.data,
                           reply_to_email=form.reply_to_email.data, actor=_actor(),
                           now=get_adapters().clock())
        except MerchantInputError as exc:
            db.rollback()
            errors = exc.errors
        else:
            db.commit()
            flash("Saved.")
            return redirect(url_for("console.merchant_settings", merchant_id=merchant.public_id),
                            303)
    elif request.method == "POST":
        errors = {name: messages[0] for name, messages in form.errors.items()}
    return render_template("console/settings.html", merchant=merchant, form=form,
                           errors=errors), 422 if errors else 200


@bp.post("/invitations/<public_id>/resend")
@requires(Permission.RESEND_INVITATION)
def resend_invitation(public_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    invitation = (db.scalar(select(Invitation).where(
        Invitation.public_id == public_id, g.scope.condition(Invitation.merchant_id)))
        if looks_like(public_id, "inv") else None)
    if invitation is None:
        abort(404)
    sent = resend_invitation_email(db, invitation, now=get_adapters().clock(), actor=_actor())
    db.commit()
    flash("The invitation is on its way again." if sent else
          "Not sent: the invitation no longer awaits a signature, or the customer has no email.")
    return redirect(return_path(request.form.get("back"), url_for(
        "console.mandate_detail", public_id=invitation.mandate.public_id)), 303)


@bp.post("/merchants/<merchant_id>/events/<event_id>/replay")
@requires(Permission.REPLAY_WEBHOOK)
def replay_webhook(merchant_id: str, event_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    now = get_adapters().clock()
    try:
        delivery = replay_event(db, g.merchant, event_id, now=now, actor=_actor())
    except LookupError:
        abort(404)
    except ValueError as exc:  # no endpoint configured
        flash(f"Not replayed: {exc}.")
        return redirect(url_for("console.merchant_home", merchant_id=merchant_id), 303)
    record_audit(db, action="console.replay_webhook", subject=event_id, actor=_actor(),
                 merchant_id=g.merchant.id, now=now,
                 data={"staff": g.staff.public_id, "delivery": delivery.public_id,
                       "ip": request.remote_addr})
    db.commit()
    flash(f"Event {event_id} queued for delivery again.")
    return redirect(return_path(request.form.get("back"), url_for(
        "console.merchant_home", merchant_id=merchant_id)), 303)
