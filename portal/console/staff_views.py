"""Console staff pages: who works for the merchants in view, inviting someone, and accepting an
invitation (the one page reached from the mail)."""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from portal.adapters import get_adapters
from portal.console.blueprint import begin_session, bp
from portal.console.forms import InviteAcceptForm, InviteForm
from portal.console.invites import (
    InviteInvalid,
    accept_invite,
    invite_staff,
    open_invite,
    open_invites,
)
from portal.console.models import StaffMembership, StaffRole, StaffUser
from portal.console.roles import Permission, public, requires
from portal.console.service import MIN_PASSWORD_LENGTH, StaffError
from portal.db import get_session
from portal.limits import configured, limiter
from portal.mandates.links import Links
from portal.merchants.models import Merchant


def _merchants_in_scope() -> list[Merchant]:
    return list(get_session().scalars(select(Merchant).where(g.scope.condition(Merchant.id))
                                      .order_by(Merchant.display_name, Merchant.id)))


def _staff_in_scope() -> list[StaffUser]:
    """Staff of the merchants in view: a platform admin sees everyone; others see the staff of
    their merchants (never a platform admin's account, nor another merchant's staff)."""
    db = get_session()
    if g.scope.merchant_ids is None:
        return list(db.scalars(select(StaffUser).order_by(StaffUser.email)))
    return list(db.scalars(
        select(StaffUser).where(StaffUser.id.in_(
            select(StaffMembership.staff_user_id).where(
                g.scope.condition(StaffMembership.merchant_id))))
        .order_by(StaffUser.email)))


def _invite_form() -> InviteForm:
    form = InviteForm()
    form.merchants.choices = [(m.public_id, m.display_name) for m in _merchants_in_scope()]
    if g.staff.role is not StaffRole.PLATFORM_ADMIN:
        form.role.choices = [c for c in form.role.choices if c[0] != "platform_admin"]
    return form


@bp.route("/staff", methods=["GET", "POST"])
@requires(Permission.STAFF)
def staff_list():
    """The staff of the merchants in view, open invitations, and the invite form."""
    db = get_session()
    now = get_adapters().clock()
    form = _invite_form()
    error, status = None, 200
    if form.validate_on_submit():
        try:
            invite = invite_staff(db, g.staff, email=form.email.data,
                                  role=StaffRole(form.role.data),
                                  merchant_ids=list(form.merchants.data or []), now=now,
                                  valid_for=_invite_lifetime())
        except (StaffError, ValueError) as exc:
            db.rollback()
            error, status = str(exc).capitalize() + ".", 422
        else:
            db.commit()
            flash(f"An invitation is on its way to {invite.email}.")
            return redirect(url_for("console.staff_list"), 303)
    elif request.method == "POST":
        error, status = next((errors[0] for errors in form.errors.values()),
                             "Fill in every field."), 422
    return render_template("console/staff.html", form=form, error=error,
                           people=_staff_in_scope(), invites=open_invites(db, g.scope, now=now),
                           merchants={m.id: m for m in _merchants_in_scope()}), status


def _invite_lifetime() -> timedelta:
    return timedelta(days=float(current_app.config["CONSOLE_INVITE_DAYS"]))


@bp.route("/invites/<token>", methods=["GET", "POST"])
@limiter.limit(configured("CONSOLE_LOGIN"), methods=["POST"])
@public
def accept(token: str):
    """Choose a name and password; then the first login's TOTP enrolment follows."""
    db = get_session()
    now = get_adapters().clock()
    links = Links.from_config(current_app.config)
    try:
        invite = open_invite(db, token, links, now=now)
    except InviteInvalid as exc:
        return render_template("console/invite_invalid.html", reason=str(exc)), 410
    form = InviteAcceptForm()
    error = None
    if form.validate_on_submit():
        try:
            staff = accept_invite(db, invite, name=form.name.data, password=form.password.data,
                                  now=now, ip=request.remote_addr)
        except InviteInvalid as exc:
            db.rollback()
            return render_template("console/invite_invalid.html", reason=str(exc)), 410
        except StaffError as exc:
            db.rollback()
            error = str(exc).capitalize() + "."
        else:
            begin_session(staff, method="password", second_factor=False)
            db.commit()
            return redirect(url_for("console.second_factor"), 303)
    elif request.method == "POST":
        error = next((errors[0] for errors in form.errors.values()), "Fill in every field.")
    return render_template("console/invite_accept.html", form=form, invite=invite, error=error,
                           min_length=MIN_PASSWORD_LENGTH), 200 if error is None else 422
