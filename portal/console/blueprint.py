"""The console blueprint and its one guard: every request is checked against the view's declared
access (:mod:`portal.console.roles`) before the view runs."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime, timedelta
from typing import Any

from flask import (
    Blueprint,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy import select

from portal.adapters import get_adapters
from portal.console.forms import LogoutForm
from portal.console.lockout import LockoutPolicy
from portal.console.models import StaffUser
from portal.console.roles import Permission, Scope, Stage, access_of, may
from portal.console.sessions import SessionPolicy, resume_session, start_session
from portal.db import get_session
from portal.ids import looks_like
from portal.merchants.models import Merchant

bp = Blueprint("console", __name__, url_prefix="/console")

#: The Flask session key holding the console session's token (the record is on the server).
SESSION_TOKEN = "console_session"
#: A ``next`` target: a console path and query in plain URL characters (no CR/LF, spaces,
#: backslashes or anything a Location header cannot carry as is).
SAFE_NEXT = re.compile(r"/console/[A-Za-z0-9\-._~!$&'()*+,;=:@%/?]*")
#: Where ``next`` waits while the second factor is asked for.
PENDING_NEXT = "console_next"
LOCKED = ("Too many failed logins for this account. Try again in {minutes} minute(s), or ask "
          "an administrator.")


@bp.app_template_filter("json_text")
def json_text(value: object, indent: int | None = None) -> str:
    """JSON for people: keys sorted, non-ASCII as is (the template escapes it)."""
    return json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False, default=str)


def session_policy() -> SessionPolicy:
    config = current_app.config
    return SessionPolicy(idle=timedelta(minutes=float(config["CONSOLE_IDLE_MINUTES"])),
                         absolute=timedelta(hours=float(config["CONSOLE_SESSION_HOURS"])),
                         second_factor=timedelta(
                             minutes=float(config["CONSOLE_SECOND_FACTOR_MINUTES"])))


def lockout_policy() -> LockoutPolicy:
    config = current_app.config
    return LockoutPolicy(
        after=int(config["CONSOLE_LOCKOUT_AFTER"]),
        first_lock=timedelta(minutes=float(config["CONSOLE_LOCKOUT_MINUTES"])),
        longest_lock=timedelta(minutes=float(config["CONSOLE_LOCKOUT_MAX_MINUTES"])))


@bp.before_request
def check_access():
    """The one guard. A view that declared no access is refused (403): a new page is closed
    until it says who may open it."""
    access = access_of(current_app.view_functions.get(request.endpoint or ""))
    if access is None:
        abort(403)
    if access.stage is Stage.PUBLIC:
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
    if record.second_factor_at is None:
        if access.stage is not Stage.SECOND_FACTOR:
            return redirect(url_for("console.second_factor"))
        return None
    g.scope = Scope.of(record.staff)
    if access.stage is Stage.SIGNED_IN:
        assert access.permission is not None
        if not may(record.staff, access.permission):
            abort(403)
        merchant_id = (request.view_args or {}).get("merchant_id")
        if merchant_id is not None:
            g.merchant = merchant_in_scope(merchant_id)
    return None


def merchant_in_scope(public_id: str) -> Merchant:
    """The merchant a URL names, if the staff member works for it; 404 otherwise."""
    merchant = None
    if looks_like(public_id, "mer"):
        merchant = get_session().scalar(select(Merchant).where(Merchant.public_id == public_id))
    if merchant is None or not g.scope.covers(merchant.id):
        abort(404)
    return merchant


@bp.context_processor
def console_context() -> dict:
    staff = g.get("staff")
    signed_in = staff is not None and g.get("scope") is not None
    # The logout form never reads the request's body: an error page for a body too large
    # (413) renders it too, and reading would raise again.
    return {"staff": staff if signed_in else None, "logout_form": LogoutForm(formdata=None),
            "may": (lambda permission: may(staff, Permission(permission))) if signed_in
            else (lambda permission: False),
            "pending_staff": staff if staff is not None and not signed_in else None}


def safe_next(target: str | None) -> str:
    """Only back to a console page of this site, never to another host."""
    if target and SAFE_NEXT.fullmatch(target):
        return target
    return url_for("console.search")


def begin_session(staff: StaffUser, *, method: str, second_factor: bool) -> None:
    """A fresh cookie for a new server-side session: nothing carried over from before (but the
    page asked for, while the second factor is due)."""
    now = get_adapters().clock()
    token, _ = start_session(get_session(), staff, now=now, policy=session_policy(),
                             ip=request.remote_addr, user_agent=request.user_agent.string,
                             method=method, second_factor_at=now if second_factor else None)
    waiting = session.get(PENDING_NEXT)
    session.clear()
    g.pop("csrf_token", None)  # Flask-WTF's token cached for the secret just cleared
    session.permanent = True
    session[SESSION_TOKEN] = token
    if not second_factor and waiting:
        session[PENDING_NEXT] = waiting


def locked_page(template: str, locked_until: datetime, now: datetime, **context: Any):
    """429 with the wait in minutes and ``Retry-After``."""
    wait = max(1, math.ceil((locked_until - now).total_seconds()))
    error = LOCKED.format(minutes=math.ceil(wait / 60))
    return render_template(template, error=error, **context), 429, {"Retry-After": str(wait)}
