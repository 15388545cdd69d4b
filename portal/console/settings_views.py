"""Console pages of a merchant's own settings: branding with its live preview, the origins that
may frame its pages, the mail and SMS senders, the reminder and retry schedules with the
collection route. Merchant admins and platform admins only; each change goes through
``portal.merchants.settings_service`` and is audited with the staff member."""

from __future__ import annotations

from flask import (
    Response,
    abort,
    current_app,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf import FlaskForm

from portal.adapters import get_adapters
from portal.collections.routes import CollectionPolicy
from portal.collections.service import effective_settings
from portal.console.blueprint import bp
from portal.console.roles import Permission, requires
from portal.console.settings_forms import BrandingForm, OriginsForm, SchedulesForm, SendersForm
from portal.console.settings_preview import (
    EMAIL_PREVIEW_CSP,
    KINDS,
    render_preview,
    saved_branding,
)
from portal.db import get_session
from portal.merchants.logo import MAX_LOGO_BYTES
from portal.merchants.service import MerchantInputError
from portal.merchants.settings_service import (
    Branding,
    parse_frame_origins,
    update_branding,
    update_frame_origins,
    update_schedules,
    update_senders,
    validate_branding,
)


def actor() -> str:
    return f"staff:{g.staff.public_id}"


def form_errors(form: FlaskForm) -> dict[str, str]:
    """The form's own refusals (CSRF, lengths), first message per field."""
    return {name: messages[0] for name, messages in form.errors.items()}


def settings_page(template: str, form: FlaskForm, errors: dict[str, str], **context):
    """The page with each field's message; 422 when there is any."""
    return render_template(template, merchant=g.merchant, form=form, errors=errors,
                           **context), 422 if errors else 200


def saved(endpoint: str) -> Response:
    get_session().commit()
    flash("Saved.")
    return redirect(url_for(endpoint, merchant_id=g.merchant.public_id), 303)


def _branding_from(form: BrandingForm) -> Branding:
    upload = form.logo.data
    data = upload.read(MAX_LOGO_BYTES + 1) if upload and getattr(upload, "filename", "") else None
    return validate_branding(g.merchant, display_name=form.display_name.data or "",
                             primary_colour=form.primary_colour.data or "",
                             locale=form.locale.data or "", logo_upload=data,
                             remove_logo=bool(form.remove_logo.data))


@bp.route("/merchants/<merchant_id>/settings/branding", methods=["GET", "POST"])
@requires(Permission.SETTINGS)
def settings_branding(merchant_id: str):
    merchant = g.merchant
    form = BrandingForm(data={"display_name": merchant.display_name,
                              "primary_colour": merchant.primary_colour,
                              "locale": merchant.locale} if request.method == "GET" else None)
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            branding = _branding_from(form)
        except MerchantInputError as exc:
            errors = exc.errors
        else:
            update_branding(get_session(), merchant, branding, actor=actor(),
                            now=get_adapters().clock())
            return saved("console.settings_branding")
    elif request.method == "POST":
        errors = form_errors(form)
    return settings_page("console/settings_branding.html", form, errors, kinds=KINDS)


@bp.route("/merchants/<merchant_id>/settings/branding/preview/<kind>", methods=["GET", "POST"])
@requires(Permission.SETTINGS)
def settings_preview(merchant_id: str, kind: str):
    """GET: the saved branding; POST: the form's, not saved. Framed by the branding page only
    (``frame-ancestors 'self'``); the email preview may not run anything."""
    if kind not in KINDS:
        abort(404)
    if request.method == "POST":
        form = BrandingForm()
        if not form.validate_on_submit():
            return _preview_refused(form_errors(form))
        try:
            branding = _branding_from(form)
        except MerchantInputError as exc:
            return _preview_refused(exc.errors)
    else:
        branding = saved_branding(g.merchant)
    g.frame_ancestors = "'self'"
    body = render_preview(kind, g.merchant, branding, saved=request.method == "GET",
                          base_url=str(current_app.config["PUBLIC_BASE_URL"]).rstrip("/"),
                          now=get_adapters().clock())
    if kind == "pdf":
        return Response(body, mimetype="application/pdf", headers={
            "Content-Disposition": 'inline; filename="mandate-preview.pdf"'})
    headers = {"Content-Security-Policy": EMAIL_PREVIEW_CSP} if kind == "email" else {}
    return Response(body, mimetype="text/html", headers=headers)


def _preview_refused(errors: dict[str, str]):
    g.frame_ancestors = "'self'"
    return render_template("console/settings_preview_refused.html", errors=errors), 422


@bp.route("/merchants/<merchant_id>/settings/embedding", methods=["GET", "POST"])
@requires(Permission.SETTINGS)
def settings_embedding(merchant_id: str):
    merchant = g.merchant
    form = OriginsForm(data={"frame_origins": "\n".join(merchant.frame_origins or [])}
                       if request.method == "GET" else None)
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            origins = parse_frame_origins(form.frame_origins.data or "")
        except MerchantInputError as exc:
            errors = exc.errors
        else:
            update_frame_origins(get_session(), merchant, origins, actor=actor(),
                                 now=get_adapters().clock())
            return saved("console.settings_embedding")
    elif request.method == "POST":
        errors = form_errors(form)
    return settings_page("console/settings_embedding.html", form, errors)


@bp.route("/merchants/<merchant_id>/settings/senders", methods=["GET", "POST"])
@requires(Permission.SETTINGS)
def settings_senders(merchant_id: str):
    merchant = g.merchant
    form = SendersForm(data={"mail_from_name": merchant.mail_from_name or "",
                             "reply_to_email": merchant.reply_to_email or "",
                             "sms_sender_id": merchant.sms_sender_id or ""}
                       if request.method == "GET" else None)
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            update_senders(get_session(), merchant, mail_from_name=form.mail_from_name.data or "",
                           reply_to_email=form.reply_to_email.data or "",
                           sms_sender_id=form.sms_sender_id.data or "", actor=actor(),
                           now=get_adapters().clock())
        except MerchantInputError as exc:
            get_session().rollback()
            errors = exc.errors
        else:
            return saved("console.settings_senders")
    elif request.method == "POST":
        errors = form_errors(form)
    return settings_page("console/settings_senders.html", form, errors,
                         default_sender=current_app.config["SMS_ORIGINATOR"])


def _days(value: list[int] | None) -> str:
    return "default" if value is None else (", ".join(map(str, value)) or "none")


@bp.route("/merchants/<merchant_id>/settings/schedules", methods=["GET", "POST"])
@requires(Permission.SETTINGS)
def settings_schedules(merchant_id: str):
    merchant = g.merchant
    db = get_session()
    config = current_app.config
    policy = CollectionPolicy.from_config(config)
    collection = effective_settings(db, merchant.id, policy)
    form = SchedulesForm(data={
        "reminder_days": _days(merchant.reminder_days),
        "payment_reminder_days": _days(merchant.payment_reminder_days),
        "retry_delays": ", ".join(map(str, collection.retry_delays_days)),
        "route": collection.route.value,
    } if request.method == "GET" else None)
    errors: dict[str, str] = {}
    if form.validate_on_submit():
        try:
            update_schedules(db, merchant, reminder_days=form.reminder_days.data or "",
                             payment_reminder_days=form.payment_reminder_days.data or "",
                             retry_delays=form.retry_delays.data or "",
                             route=form.route.data or "", policy=policy, actor=actor(),
                             now=get_adapters().clock())
        except MerchantInputError as exc:
            db.rollback()
            errors = exc.errors
        else:
            return saved("console.settings_schedules")
    elif request.method == "POST":
        errors = form_errors(form)
    return settings_page("console/settings_schedules.html", form, errors,
                         portal_reminders=config["REMINDER_DAYS"],
                         portal_payment_reminders=config["PAYMENT_REMINDER_DAYS"])
