"""Console pages: login and logout, mandate search, mandate detail and its sealed PDF."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta

from flask import (
    Blueprint,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from portal.adapters import get_adapters
from portal.console.forms import LoginForm, LogoutForm, PasswordForm
from portal.console.lockout import LockoutPolicy
from portal.console.models import StaffUser
from portal.console.service import (
    MAX_QUERY_LENGTH,
    MIN_PASSWORD_LENGTH,
    StaffError,
    authenticate,
    change_own_password,
    find_mandate,
    mandate_record,
    record_access,
    record_search,
    search_mandates,
)
from portal.console.sessions import SessionPolicy, log_out, resume_session, start_session
from portal.db import get_session
from portal.documents.service import mandate_pdf, read_pdf
from portal.limits import configured, limiter

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.app_template_filter("json_text")
def json_text(value: object, indent: int | None = None) -> str:
    """JSON for people: keys sorted, non-ASCII as is (the template escapes it)."""
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False, default=str)


LOGIN_FAILED = "Email or password is incorrect."
LOCKED = ("Too many failed logins for this account. Try again in {minutes} minute(s), or ask "
          "an administrator.")
#: The Flask session key holding the console session's token (the record is on the server).
SESSION_TOKEN = "console_session"
PUBLIC_ENDPOINTS = {"console.login"}
#: A ``next`` target: a console path and query in plain URL characters (no CR/LF, spaces,
#: backslashes or anything a Location header cannot carry as is).
SAFE_NEXT = re.compile(r"/console/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")


def session_policy() -> SessionPolicy:
    config = current_app.config
    return SessionPolicy(idle=timedelta(minutes=float(config["CONSOLE_IDLE_MINUTES"])),
                         absolute=timedelta(hours=float(config["CONSOLE_SESSION_HOURS"])))


def lockout_policy() -> LockoutPolicy:
    config = current_app.config
    return LockoutPolicy(
        after=int(config["CONSOLE_LOCKOUT_AFTER"]),
        first_lock=timedelta(minutes=float(config["CONSOLE_LOCKOUT_MINUTES"])),
        longest_lock=timedelta(minutes=float(config["CONSOLE_LOCKOUT_MAX_MINUTES"])))


@bp.before_request
def require_login():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    db = get_session()
    record = resume_session(db, session.get(SESSION_TOKEN), now=get_adapters().clock(),
                            policy=session_policy())
    db.commit()  # the touch, or the end of a session found timed out
    if record is None:
        session.pop(SESSION_TOKEN, None)
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    g.console_session = record
    g.staff = record.staff
    return None


@bp.context_processor
def console_context() -> dict:
    return {"staff": g.get("staff"), "logout_form": LogoutForm()}


def _safe_next(target: str | None) -> str:
    """Only back to a console page of this site, never to another host."""
    if target and SAFE_NEXT.fullmatch(target):
        return target
    return url_for("console.search")


def _begin(staff: StaffUser) -> None:
    """A fresh cookie for a new server-side session: nothing carried over from before."""
    token, _ = start_session(get_session(), staff, now=get_adapters().clock(),
                             policy=session_policy(), ip=request.remote_addr,
                             user_agent=request.user_agent.string)
    session.clear()
    session.permanent = True
    session[SESSION_TOKEN] = token


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(configured("CONSOLE_LOGIN"), methods=["POST"])
def login():
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        db = get_session()
        now = get_adapters().clock()
        result = authenticate(db, form.email.data, form.password.data, now=now,
                              ip=request.remote_addr, lockout=lockout_policy())
        if result.staff is not None:
            _begin(result.staff)
            db.commit()
            return redirect(_safe_next(request.args.get("next")), 303)
        db.commit()
        if result.locked_until is not None:
            wait = max(1, math.ceil((result.locked_until - now).total_seconds()))
            error, status = LOCKED.format(minutes=math.ceil(wait / 60)), 429
            return render_template("console/login.html", form=form, error=error), status, {
                "Retry-After": str(wait)}
        error = LOGIN_FAILED
    elif request.method == "POST":
        error = LOGIN_FAILED
    return render_template("console/login.html", form=form, error=error), status


@bp.post("/logout")
def logout():
    if not LogoutForm().validate_on_submit():
        abort(400)
    db = get_session()
    log_out(db, g.console_session, now=get_adapters().clock(), ip=request.remote_addr)
    db.commit()
    session.clear()
    return redirect(url_for("console.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
def password():
    """Change one's own password: every session ends, this browser gets a new one."""
    form = PasswordForm()
    error = None
    if form.validate_on_submit():
        db = get_session()
        try:
            change_own_password(db, g.staff, form.current_password.data,
                                form.new_password.data, now=get_adapters().clock(),
                                lockout=lockout_policy(), ip=request.remote_addr)
        except StaffError as exc:
            db.commit()  # the failed attempt stays recorded
            error = str(exc).capitalize() + "."
        else:
            _begin(g.staff)
            db.commit()
            return redirect(url_for("console.search"), 303)
    elif request.method == "POST":
        error = next((errors[0] for errors in form.errors.values()), "Fill in every field.")
    return render_template("console/password.html", form=form, error=error,
                           min_length=MIN_PASSWORD_LENGTH), 200 if error is None else 422


@bp.get("/")
def search():
    query = request.args.get("q", "")[:MAX_QUERY_LENGTH]
    results = None
    if query.strip():
        db = get_session()
        results = search_mandates(db, query)
        record_search(db, g.staff, query, results, now=get_adapters().clock(),
                      ip=request.remote_addr)
        db.commit()
    return render_template("console/search.html", query=query, results=results)


def _mandate(public_id: str):
    mandate = find_mandate(get_session(), public_id)
    if mandate is None:
        abort(404)
    return mandate


@bp.get("/mandates/<public_id>")
def mandate_detail(public_id: str):
    db = get_session()
    mandate = _mandate(public_id)
    record_access(db, g.staff, mandate, "console.view_mandate", now=get_adapters().clock(),
                  ip=request.remote_addr)
    db.commit()
    adapters = get_adapters()
    record = mandate_record(db, mandate, adapters.pdf_store, adapters.sealing().trust)
    return render_template("console/mandate.html", record=record, mandate=mandate)


@bp.get("/mandates/<public_id>/pdf")
def mandate_pdf_download(public_id: str):
    db = get_session()
    mandate = _mandate(public_id)
    record = mandate_pdf(db, mandate)
    if record is None:
        abort(404)
    body = read_pdf(get_adapters().pdf_store, record)
    record_access(db, g.staff, mandate, "console.download_pdf", now=get_adapters().clock(),
                  ip=request.remote_addr)
    db.commit()
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{mandate.public_id}.pdf"',
        "Cache-Control": "no-store",
    })
