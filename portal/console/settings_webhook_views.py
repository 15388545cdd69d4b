"""Console pages of a merchant's integrations: the webhook endpoint (URL, secret rotation with
the previous secret's overlap, the delivery log, replay of one event, recovery of a time
window) and its API clients (create, the secret shown once, revoke). Merchant admins and
platform admins only; the services are those of the command line, audited with the staff
member. A new secret is shown in the answer to the POST that made it, never stored to show
later."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from flask import abort, flash, g, redirect, render_template, request, url_for

from portal.adapters import get_adapters
from portal.api.clients import ClientInputError, create_client, list_clients, revoke_client
from portal.api.models import ApiClient
from portal.console.blueprint import bp
from portal.console.forms import ActionForm
from portal.console.roles import Permission, requires
from portal.console.settings_forms import ApiClientForm, RecoverForm, RotateForm, WebhookForm
from portal.console.settings_views import actor, form_errors
from portal.db import get_session
from portal.ids import looks_like
from portal.webhooks.recovery import delivery_log, recover_window
from portal.webhooks.service import (
    EndpointError,
    configure_endpoint,
    enable_endpoint,
    rotate_secret,
)

#: The longest rotation overlap the console offers (the command line takes any).
MAX_OVERLAP_HOURS = 168


def _webhooks_page(errors: dict[str, str] | None = None, *, new_secret: str | None = None,
                   url_form: WebhookForm | None = None, rotate_form: RotateForm | None = None,
                   recover_form: RecoverForm | None = None):
    merchant = g.merchant
    errors = errors or {}
    return render_template(
        "console/settings_webhooks.html", merchant=merchant, errors=errors,
        new_secret=new_secret,
        url_form=url_form or WebhookForm(formdata=None, data={"url": merchant.webhook_url or ""}),
        rotate_form=rotate_form or RotateForm(formdata=None, data={"overlap_hours": "24"}),
        recover_form=recover_form or RecoverForm(formdata=None),
        action_form=ActionForm(), log=delivery_log(get_session(), merchant),
        back=request.path), 422 if errors else 200


@bp.get("/merchants/<merchant_id>/settings/webhooks")
@requires(Permission.SETTINGS)
def settings_webhooks(merchant_id: str):
    return _webhooks_page()


@bp.post("/merchants/<merchant_id>/settings/webhooks")
@requires(Permission.SETTINGS)
def settings_webhook_url(merchant_id: str):
    """Set the endpoint: a new signing secret, shown in this answer only."""
    form = WebhookForm()
    if not form.validate_on_submit():
        return _webhooks_page(form_errors(form), url_form=form)
    db = get_session()
    try:
        secret = configure_endpoint(db, g.merchant, form.url.data or "",
                                    now=get_adapters().clock(), actor=actor())
    except EndpointError as exc:
        db.rollback()
        return _webhooks_page({"url": str(exc)}, url_form=form)
    db.commit()
    return _webhooks_page(new_secret=secret, url_form=form)


@bp.post("/merchants/<merchant_id>/settings/webhooks/rotate")
@requires(Permission.SETTINGS)
def settings_webhook_rotate(merchant_id: str):
    """A new secret (shown once); the previous one still signs for the overlap."""
    form = RotateForm()
    if not form.validate_on_submit():
        return _webhooks_page(form_errors(form), rotate_form=form)
    try:
        hours = float((form.overlap_hours.data or "").strip())
    except ValueError:
        hours = -1.0
    if not 0 <= hours <= MAX_OVERLAP_HOURS:
        return _webhooks_page({"overlap_hours": f"give 0 to {MAX_OVERLAP_HOURS} hours"},
                              rotate_form=form)
    db = get_session()
    try:
        secret = rotate_secret(db, g.merchant, overlap=timedelta(hours=hours),
                               now=get_adapters().clock(), actor=actor())
    except EndpointError as exc:
        db.rollback()
        return _webhooks_page({"overlap_hours": str(exc)}, rotate_form=form)
    db.commit()
    return _webhooks_page(new_secret=secret)


@bp.post("/merchants/<merchant_id>/settings/webhooks/enable")
@requires(Permission.SETTINGS)
def settings_webhook_enable(merchant_id: str):
    """Resume deliveries after the endpoint was disabled, with the same secret."""
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    try:
        queued = enable_endpoint(db, g.merchant, now=get_adapters().clock(), actor=actor())
    except EndpointError as exc:
        db.rollback()
        return _webhooks_page({"url": str(exc)})
    db.commit()
    flash(f"Endpoint enabled; {queued} waiting deliveries queued.")
    return redirect(url_for("console.settings_webhooks", merchant_id=g.merchant.public_id), 303)


def _utc(text: str | None) -> datetime:
    """``2026-11-30T14:00`` (a datetime-local field) or with seconds, read as UTC."""
    value = datetime.fromisoformat((text or "").strip())
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


@bp.post("/merchants/<merchant_id>/settings/webhooks/recover")
@requires(Permission.SETTINGS)
def settings_webhook_recover(merchant_id: str):
    """Deliver again every event of a time window."""
    form = RecoverForm()
    if not form.validate_on_submit():
        return _webhooks_page(form_errors(form), recover_form=form)
    errors: dict[str, str] = {}
    times: dict[str, datetime] = {}
    for name in ("start", "end"):
        try:
            times[name] = _utc(getattr(form, name).data)
        except ValueError:
            errors[name] = "give a date and time like 2026-11-30T14:00 (UTC)"
    if errors:
        return _webhooks_page(errors, recover_form=form)
    db = get_session()
    try:
        recovery = recover_window(db, g.merchant, times["start"], times["end"], actor=actor(),
                                  now=get_adapters().clock())
    except EndpointError as exc:
        db.rollback()
        return _webhooks_page({"start": str(exc)}, recover_form=form)
    db.commit()
    flash(f"{recovery.queued} event(s) queued for delivery again"
          + (f"; {recovery.already_pending} still on their way were left alone."
             if recovery.already_pending else "."))
    return redirect(url_for("console.settings_webhooks", merchant_id=g.merchant.public_id), 303)


def _clients_page(errors: dict[str, str] | None = None, *, form: ApiClientForm | None = None,
                  created: tuple[ApiClient, str] | None = None):
    errors = errors or {}
    return render_template(
        "console/settings_api_clients.html", merchant=g.merchant, errors=errors,
        form=form or ApiClientForm(formdata=None), created=created, action_form=ActionForm(),
        clients=list_clients(get_session(), g.merchant)), 422 if errors else 200


@bp.route("/merchants/<merchant_id>/settings/api-clients", methods=["GET", "POST"])
@requires(Permission.SETTINGS)
def settings_api_clients(merchant_id: str):
    """The merchant's API clients; POST makes one and shows its secret in this answer only."""
    if request.method == "GET":
        return _clients_page()
    form = ApiClientForm()
    if not form.validate_on_submit():
        return _clients_page(form_errors(form), form=form)
    db = get_session()
    try:
        new = create_client(db, g.merchant, form.name.data or "", " ".join(form.scopes.data or []),
                            actor=actor(), now=get_adapters().clock())
    except ClientInputError as exc:
        db.rollback()
        field = "scopes" if "scope" in str(exc) else "name"
        return _clients_page({field: str(exc)}, form=form)
    db.commit()
    return _clients_page(created=(new.client, new.secret))


@bp.post("/merchants/<merchant_id>/settings/api-clients/<client_id>/revoke")
@requires(Permission.SETTINGS)
def settings_api_client_revoke(merchant_id: str, client_id: str):
    if not ActionForm().validate_on_submit():
        abort(400)
    db = get_session()
    client = next((c for c in list_clients(db, g.merchant) if c.client_id == client_id), None) \
        if looks_like(client_id, "cli") else None
    if client is None:
        abort(404)
    revoke_client(db, client, actor=actor(), now=get_adapters().clock())
    db.commit()
    flash(f"Client {client.client_id} revoked, with every token it held.")
    return redirect(url_for("console.settings_api_clients", merchant_id=g.merchant.public_id),
                    303)
