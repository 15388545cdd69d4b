"""Console pages: the password login and logout, mandate search, mandate detail and its PDF."""

from __future__ import annotations

from flask import (
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
from portal.console.blueprint import (
    PENDING_NEXT,
    begin_session,
    bp,
    locked_page,
    lockout_policy,
    safe_next,
)
from portal.console.forms import LoginForm, LogoutForm, PasswordForm
from portal.console.labels import ABANDONED_LABELS, STATUS_LABELS
from portal.console.mandate_views import audited_pdf, mandate_in_scope, render_mandate
from portal.console.roles import Permission, public, requires, second_factor_step
from portal.console.search import (
    MAX_QUERY_LENGTH,
    SearchInputError,
    parse_search,
    search_mandates,
)
from portal.console.service import (
    MIN_PASSWORD_LENGTH,
    StaffError,
    authenticate,
    change_own_password,
    record_access,
    record_search,
)
from portal.console.sessions import log_out
from portal.db import get_session
from portal.limits import configured, limiter
from portal.mandates.models import MandateStatus, Scheme

LOGIN_FAILED = "Email or password is incorrect."


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(configured("CONSOLE_LOGIN"), methods=["POST"])
@public
def login():
    """The password step; the second factor follows (``account_views.second_factor``)."""
    form = LoginForm()
    error, status = None, 200
    if form.validate_on_submit():
        db = get_session()
        now = get_adapters().clock()
        result = authenticate(db, form.email.data, form.password.data, now=now,
                              ip=request.remote_addr, lockout=lockout_policy())
        if result.staff is not None:
            session[PENDING_NEXT] = safe_next(request.args.get("next"))
            begin_session(result.staff, method="password", second_factor=False)
            db.commit()
            return redirect(url_for("console.second_factor"), 303)
        db.commit()
        if result.locked_until is not None:
            return locked_page("console/login.html", result.locked_until, now, form=form,
                               oidc=current_app.config["CONSOLE_OIDC_ISSUER"])
        error = LOGIN_FAILED
    elif request.method == "POST":
        error = LOGIN_FAILED
    return render_template("console/login.html", form=form, error=error,
                           oidc=current_app.config["CONSOLE_OIDC_ISSUER"]), status


@bp.post("/logout")
@second_factor_step
def logout():
    if not LogoutForm().validate_on_submit():
        abort(400)
    db = get_session()
    log_out(db, g.console_session, now=get_adapters().clock(), ip=request.remote_addr)
    db.commit()
    session.clear()
    return redirect(url_for("console.login"), 303)


@bp.route("/password", methods=["GET", "POST"])
@requires(Permission.OWN_ACCOUNT)
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
            begin_session(g.staff, method=g.console_session.method or "password",
                          second_factor=True)
            db.commit()
            return redirect(url_for("console.search"), 303)
    elif request.method == "POST":
        error = next((errors[0] for errors in form.errors.values()), "Fill in every field.")
    return render_template("console/password.html", form=form, error=error,
                           min_length=MIN_PASSWORD_LENGTH), 200 if error is None else 422


@bp.get("/")
@requires(Permission.READ)
def search():
    """The search box and its filters; every search is audited with what it showed."""
    try:
        wanted = parse_search(request.args)
    except SearchInputError as exc:
        nothing = parse_search({})  # the form again, with the merchants to choose from
        return render_template("console/search.html", wanted=nothing,
                               result=search_mandates(get_session(), nothing, g.scope),
                               errors=exc.errors, args=request.args, shown=_shown_query(),
                               statuses=MandateStatus, schemes=Scheme,
                               labels=STATUS_LABELS), 400
    db = get_session()
    now = get_adapters().clock()
    result = search_mandates(db, wanted, g.scope, now=now)
    if wanted.asked:
        record_search(db, g.staff, wanted.query, result.mandates, now=now,
                      ip=request.remote_addr, filters=wanted.filters() | (
                          {"page": wanted.page} if wanted.page > 1 else {}))
        db.commit()
    return render_template("console/search.html", wanted=wanted, result=result, errors={},
                           args=request.args, shown=_shown_query(), statuses=MandateStatus, schemes=Scheme,
                           labels=STATUS_LABELS, abandoned_labels=ABANDONED_LABELS,
                           page_link=_page_link)


def _shown_query() -> str:
    """The query as typed, back in its box (cut and without NULs, like the search reads it)."""
    return request.args.get("q", "")[:MAX_QUERY_LENGTH].replace("\x00", "").strip()


SEARCH_FIELDS = ("q", "merchant", "status", "scheme", "from", "to")


def _page_link(page: int) -> str:
    """This search's other page: only the form's own fields are carried over."""
    kept = {name: request.args[name] for name in SEARCH_FIELDS if request.args.get(name)}
    return url_for("console.search", **kept, page=page)


@bp.get("/mandates/<public_id>")
@requires(Permission.READ)
def mandate_detail(public_id: str):
    db = get_session()
    mandate = mandate_in_scope(public_id)
    record_access(db, g.staff, mandate, "console.view_mandate", now=get_adapters().clock(),
                  ip=request.remote_addr)
    db.commit()
    return render_mandate(mandate)


@bp.get("/mandates/<public_id>/pdf")
@requires(Permission.READ)
def mandate_pdf_download(public_id: str):
    mandate, body = audited_pdf(public_id, "console.download_pdf")
    return Response(body, mimetype="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{mandate.public_id}.pdf"',
        "Cache-Control": "no-store",
    })
