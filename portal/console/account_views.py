"""Console sign-in after the password: TOTP enrolment at the first login, the code at every
later one (or a recovery code), and the recovery codes shown once."""

from __future__ import annotations

from flask import current_app, g, redirect, render_template, request, session, url_for
from markupsafe import Markup

from portal.adapters import get_adapters
from portal.console.blueprint import (
    PENDING_NEXT,
    begin_session,
    bp,
    locked_page,
    lockout_policy,
    safe_next,
)
from portal.console.forms import SecondFactorForm
from portal.console.roles import second_factor_step
from portal.console.service import verify_second_factor
from portal.console.totp import enrolment_secret, provisioning_uri, qr_svg
from portal.db import cipher_of, get_session

WRONG_CODE = "That code is not right (or was used already). Try the next one."


@bp.route("/second-factor", methods=["GET", "POST"])
@second_factor_step
def second_factor():
    """The TOTP step of a password login; enrols the authenticator the first time."""
    if g.console_session.second_factor_at is not None:
        return redirect(url_for("console.search"))
    db = get_session()
    staff = g.staff
    cipher = cipher_of(db)
    form = SecondFactorForm()
    error, status = None, 200
    if form.validate_on_submit():
        recovery = bool((form.recovery_code.data or "").strip())
        code = form.recovery_code.data if recovery else (form.code.data or "")
        now = get_adapters().clock()
        result = verify_second_factor(db, g.console_session, code, cipher=cipher, now=now,
                                      lockout=lockout_policy(), ip=request.remote_addr,
                                      recovery=recovery)
        if result.ok:
            target = safe_next(session.get(PENDING_NEXT))
            begin_session(staff, method="password", second_factor=True)
            db.commit()
            if result.codes:
                return render_template("console/recovery_codes.html", codes=result.codes,
                                       target=target), 200, {"Cache-Control": "no-store"}
            return redirect(target, 303)
        db.commit()
        if result.locked_until is not None:
            session.clear()
            return locked_page("console/login_locked.html", result.locked_until, now)
        error, status = WRONG_CODE, 422
    elif request.method == "POST":
        error, status = WRONG_CODE, 422
    enrolment = None
    if staff.totp_enabled_at is None:
        secret = enrolment_secret(db, staff, cipher)
        db.commit()
        uri = provisioning_uri(secret, staff.email, current_app.config["CONSOLE_TOTP_ISSUER"])
        enrolment = {"secret": secret, "qr": Markup(qr_svg(uri))}
    return render_template("console/second_factor.html", form=form, error=error,
                           enrolment=enrolment), status, {"Cache-Control": "no-store"}
