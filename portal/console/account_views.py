"""Console sign-in beyond the password form: TOTP enrolment at the first login, the code at every
later one (or a recovery code), the recovery codes shown once; and OpenID Connect sign-in."""

from __future__ import annotations

from authlib.integrations.base_client import OAuthError
from flask import abort, current_app, g, redirect, render_template, request, session, url_for
from joserfc.errors import JoseError
from markupsafe import Markup
from requests import RequestException

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
from portal.console.oidc import OidcRefused, OidcSettings, new_nonce, oidc_client, staff_for_claims
from portal.console.roles import public, second_factor_step
from portal.console.service import verify_second_factor
from portal.console.totp import enrolment_secret, provisioning_uri
from portal.db import cipher_of, get_session
from portal.limits import configured, limiter
from portal.qr import qr_inline_svg

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
        enrolment = {"secret": secret, "qr": Markup(qr_inline_svg(uri))}
    return render_template("console/second_factor.html", form=form, error=error,
                           enrolment=enrolment), status, {"Cache-Control": "no-store"}


def _oidc_settings() -> OidcSettings:
    settings = OidcSettings.from_config(current_app.config)
    if settings is None:
        abort(404)
    return settings


def _oidc_failed(reason: str):
    return render_template("console/oidc_failed.html", reason=reason), 401


@bp.get("/oidc/login")
@limiter.limit(configured("CONSOLE_LOGIN"))
@public
def oidc_login():
    """Off to the company's provider; it comes back to :func:`oidc_callback`."""
    settings = _oidc_settings()
    try:
        client = oidc_client(current_app._get_current_object(), settings)
    except OidcRefused as exc:
        return _oidc_failed(str(exc))
    except RequestException:
        return _oidc_failed("the sign-in provider cannot be reached; try again shortly")
    session[PENDING_NEXT] = safe_next(request.args.get("next"))
    callback = str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/") + url_for(
        "console.oidc_callback")
    return client.authorize_redirect(callback, nonce=new_nonce())


@bp.get("/oidc/callback")
@limiter.limit(configured("CONSOLE_LOGIN"))
@public
def oidc_callback():
    settings = _oidc_settings()
    db = get_session()
    try:
        client = oidc_client(current_app._get_current_object(), settings)
        token = client.authorize_access_token()
        claims = token.get("userinfo")
        if not claims:
            raise OidcRefused("the provider sent no id_token")
        staff = staff_for_claims(db, claims, settings, now=get_adapters().clock(),
                                 ip=request.remote_addr)
    except OidcRefused as exc:
        db.rollback()
        return _oidc_failed(str(exc))
    except (OAuthError, JoseError, ValueError) as exc:
        db.rollback()
        current_app.logger.warning("console OIDC sign-in refused: %s", exc)
        return _oidc_failed("the provider's answer could not be verified")
    except RequestException:
        db.rollback()
        return _oidc_failed("the sign-in provider cannot be reached; try again shortly")
    target = safe_next(session.get(PENDING_NEXT))
    begin_session(staff, method="oidc", second_factor=True)
    db.commit()
    return redirect(target, 303)
