"""Console pages: login and logout, mandate search, mandate detail and its sealed PDF."""

from __future__ import annotations

import json
import secrets
from datetime import datetime, timedelta

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

from portal.clock import now as clock_now
from portal.console.forms import LoginForm, LogoutForm
from portal.console.models import StaffUser
from portal.console.service import (
    MAX_QUERY_LENGTH,
    authenticate,
    find_mandate,
    find_staff,
    mandate_record,
    record_access,
    search_mandates,
)
from portal.db import get_session
from portal.documents.sealing import seal_trust
from portal.documents.service import mandate_pdf, read_pdf
from portal.limits import configured, limiter

bp = Blueprint("console", __name__, url_prefix="/console")


@bp.app_template_filter("json_text")
def json_text(value: object, indent: int | None = None) -> str:
    """JSON for people: keys sorted, non-ASCII as is (the template escapes it)."""
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False, default=str)


LOGIN_FAILED = "Email or password is incorrect."
#: Flask session keys of a console login.
STAFF, NONCE, SEEN = "console_staff", "console_nonce", "console_seen"
PUBLIC_ENDPOINTS = {"console.login"}


def _end_login() -> None:
    for key in (STAFF, NONCE, SEEN):
        session.pop(key, None)


def _logged_in_staff(now: datetime) -> StaffUser | None:
    """The staff user of this session, if it has not idled out and the user is still enabled."""
    public_id, seen = session.get(STAFF), session.get(SEEN)
    if not public_id or not session.get(NONCE) or not isinstance(seen, int | float):
        return None
    idle = timedelta(minutes=current_app.config["CONSOLE_IDLE_MINUTES"])
    if now - datetime.fromtimestamp(seen, now.tzinfo) > idle:
        return None
    staff = find_staff(get_session(), public_id)
    return staff if staff is not None and staff.active else None


@bp.before_request
def require_login():
    if request.endpoint in PUBLIC_ENDPOINTS:
        return None
    now = clock_now()
    staff = _logged_in_staff(now)
    if staff is None:
        _end_login()
        return redirect(url_for("console.login", next=request.full_path.rstrip("?")))
    session[SEEN] = now.timestamp()
    g.staff = staff
    return None


@bp.context_processor
def console_context() -> dict:
    return {"staff": g.get("staff"), "logout_form": LogoutForm()}


def _safe_next(target: str | None) -> str:
    """Only back to a console page of this site, never to another host."""
    if target and target.startswith("/console/") and not target.startswith("//") \
            and "\\" not in target:
        return target
    return url_for("console.search")


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(configured("CONSOLE_LOGIN"), methods=["POST"])
def login():
    form = LoginForm()
    error = None
    if form.validate_on_submit():
        db = get_session()
        staff = authenticate(db, form.email.data, form.password.data, now=clock_now(),
                             ip=request.remote_addr)
        db.commit()
        if staff is not None:
            target = _safe_next(request.args.get("next"))
            session.clear()  # a fresh session for the login: nothing carried over from before
            session.permanent = True
            session[STAFF] = staff.public_id
            session[NONCE] = secrets.token_urlsafe(16)
            session[SEEN] = clock_now().timestamp()
            return redirect(target, 303)
        error = LOGIN_FAILED
    elif request.method == "POST":
        error = LOGIN_FAILED
    return render_template("console/login.html", form=form, error=error)


@bp.post("/logout")
def logout():
    if not LogoutForm().validate_on_submit():
        abort(400)
    session.clear()
    return redirect(url_for("console.login"), 303)


@bp.get("/")
def search():
    query = request.args.get("q", "")[:MAX_QUERY_LENGTH]
    results = search_mandates(get_session(), query) if query.strip() else None
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
    record_access(db, g.staff, mandate, "console.view_mandate", now=clock_now(),
                  ip=request.remote_addr)
    db.commit()
    record = mandate_record(db, mandate, seal_trust())
    return render_template("console/mandate.html", record=record, mandate=mandate)


@bp.get("/mandates/<public_id>/pdf")
def mandate_pdf_download(public_id: str):
    db = get_session()
    mandate = _mandate(public_id)
    record = mandate_pdf(db, mandate)
    if record is None:
        abort(404)
    body = read_pdf(record)
    record_access(db, g.staff, mandate, "console.download_pdf", now=clock_now(),
                  ip=request.remote_addr)
    db.commit()
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{mandate.public_id}.pdf"',
        "Cache-Control": "no-store",
    })
