"""The merchant settings pages end to end: each saves through its service, answers 422 with a
message per field, shows a new secret only in the answer that made it, and previews branding
(saved or not) with the real customer templates."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.models import ApiClient
from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.events.service import emit_event
from portal.merchants.models import Merchant
from portal.webhooks.models import WebhookAttempt, WebhookDelivery
from portal.webhooks.service import configure_endpoint
from tests.console.conftest import Staff
from tests.factories import make_invitation, make_merchant
from tests.merchants.images import image_bytes
from tests.sign.driver import Journey, csrf_token

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)  # services: both


@pytest.fixture
def merchant(session: Session) -> Merchant:
    merchant = make_merchant(session, legal_name="Bakkerij Jansen B.V.",
                             display_name="Bakkerij Jansen")
    session.commit()
    return merchant


def _base(merchant: Merchant) -> str:
    return f"/console/merchants/{merchant.public_id}/settings"


def _post(console: FlaskClient, path: str, data: dict, **options):
    token = csrf_token(console.get("/console/password"))
    return console.post(path, data={"csrf_token": token, **data}, **options)


def _reloaded(session: Session, merchant: Merchant) -> Merchant:
    session.expire_all()
    return session.get(Merchant, merchant.id)


def _actions(session: Session, staff: Staff) -> set[str]:
    return set(session.scalars(select(AuditEvent.action).where(
        AuditEvent.actor == f"staff:{staff.user.public_id}")))


def test_branding_with_a_logo_is_saved_reencoded_and_previewed(
        console: FlaskClient, session: Session, merchant: Merchant, staff: Staff) -> None:
    path = f"{_base(merchant)}/branding"
    response = _post(console, path, {
        "display_name": "Bakkerij Jansen & Zn", "primary_colour": "#0B6E4F", "locale": "de",
        "logo": (io.BytesIO(image_bytes("PNG", mode="RGBA", exif=False)), "logo.png")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    stored = _reloaded(session, merchant)
    assert (stored.display_name, stored.primary_colour, stored.locale, stored.logo_mime) == (
        "Bakkerij Jansen & Zn", "#0b6e4f", "de", "image/png")
    assert "merchant.update_branding" in _actions(session, staff)
    page = console.get(path).get_data(as_text=True)
    assert 'name="preview"' in page and "/settings/branding/preview/sign" in page
    preview = console.get(f"{path}/preview/sign")
    html = preview.get_data(as_text=True)
    assert preview.status_code == 200
    assert "Bakkerij Jansen &amp; Zn" in html and f"/brand/{merchant.public_id}/logo" in html
    assert "Lastschrift" in html  # the merchant's default language
    assert "frame-ancestors 'self'" in preview.headers["Content-Security-Policy"]
    assert "X-Frame-Options" not in preview.headers


def test_the_preview_of_unsaved_branding_changes_nothing(
        console: FlaskClient, session: Session, merchant: Merchant) -> None:
    path = f"{_base(merchant)}/branding"
    token = csrf_token(console.get(path))
    for kind in ("sign", "checkout", "email"):
        response = console.post(f"{path}/preview/{kind}", data={
            "csrf_token": token, "display_name": "Nieuwe Naam", "primary_colour": "#7a1f99",
            "locale": "nl", "logo": (io.BytesIO(image_bytes("JPEG")), "l.jpg")},
            content_type="multipart/form-data")
        html = response.get_data(as_text=True)
        assert response.status_code == 200, (kind, html[:300])
        assert "Nieuwe Naam" in html and "data:image/jpeg;base64," in html
        if kind != "email":
            assert "/brand/preview.css?colour=%237a1f99" in html
        else:
            assert "background:#7a1f99" in html
            assert "script-src" not in response.headers["Content-Security-Policy"]
            assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    stored = _reloaded(session, merchant)
    assert (stored.display_name, stored.primary_colour, stored.logo) == (
        "Bakkerij Jansen", "#0b6e4f", None)
    css = console.get("/brand/preview.css?colour=%237a1f99").get_data(as_text=True)
    assert "--brand: #7a1f99" in css
    assert "--brand: #1f4b99" in console.get(
        "/brand/preview.css?colour=red;}body{x:y").get_data(as_text=True)


def test_the_pdf_preview_is_a_pdf_of_the_real_mandate(console: FlaskClient,
                                                      merchant: Merchant) -> None:
    response = console.get(f"{_base(merchant)}/branding/preview/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert console.get(f"{_base(merchant)}/branding/preview/nope").status_code == 404


def test_a_colour_failing_aa_is_explained_per_field_with_a_shade_that_passes(
        console: FlaskClient, session: Session, merchant: Merchant) -> None:
    response = _post(console, f"{_base(merchant)}/branding", {
        "display_name": "Bakkerij Jansen", "primary_colour": "#ffcc00", "locale": "nl",
        "logo": (io.BytesIO(b"<svg onload=alert(1)></svg>"), "logo.svg")},
        content_type="multipart/form-data")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert 'id="primary_colour-error"' in html and "#907300" in html
    assert 'id="logo-error"' in html and "SVG images are not accepted" in html
    assert _reloaded(session, merchant).primary_colour == "#0b6e4f"
    preview = _post(console, f"{_base(merchant)}/branding/preview/sign", {
        "display_name": "X", "primary_colour": "#ffcc00", "locale": "nl"})
    assert preview.status_code == 422 and "#907300" in preview.get_data(as_text=True)


def test_listed_origins_frame_the_signing_page(app: Flask, console: FlaskClient,
                                               session: Session, merchant: Merchant,
                                               client: FlaskClient) -> None:
    response = _post(console, f"{_base(merchant)}/embedding",
                     {"frame_origins": "https://Shop.Example:443\nhttps://www.shop.example"})
    assert response.status_code == 303
    assert _reloaded(session, merchant).frame_origins == [
        "https://shop.example", "https://www.shop.example"]
    refused = _post(console, f"{_base(merchant)}/embedding",
                    {"frame_origins": "https://*.shop.example"})
    assert refused.status_code == 422 and "wildcards" in refused.get_data(as_text=True)
    invitation = make_invitation(session, _reloaded(session, merchant))
    session.commit()
    journey = Journey(app, client, session, invitation)
    page = client.get(journey.path, query_string={"embed": "1", "origin": "https://shop.example"})
    assert ("frame-ancestors https://shop.example https://www.shop.example"
            in page.headers["Content-Security-Policy"])


def test_senders_and_schedules_answer_422_per_field_and_save(
        console: FlaskClient, session: Session, merchant: Merchant, staff: Staff) -> None:
    senders = f"{_base(merchant)}/senders"
    bad = _post(console, senders, {"mail_from_name": "Bol", "reply_to_email": "nope",
                                   "sms_sender_id": "Far too long id"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert 'id="reply_to_email-error"' in html and 'id="sms_sender_id-error"' in html
    assert _post(console, senders, {"mail_from_name": "Bol", "reply_to_email": "",
                                    "sms_sender_id": "Bol24"}).status_code == 303
    schedules = f"{_base(merchant)}/schedules"
    bad = _post(console, schedules, {"reminder_days": "0", "payment_reminder_days": "x",
                                     "retry_delays": "5", "route": "bank"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for field in ("reminder_days", "payment_reminder_days", "retry_delays"):
        assert f'id="{field}-error"' in html
    assert _post(console, schedules, {"reminder_days": "2, 5", "payment_reminder_days": "none",
                                      "retry_delays": "3, 6", "route": "provider"}
                 ).status_code == 303
    stored = _reloaded(session, merchant)
    assert (stored.sms_sender_id, stored.reminder_days, stored.payment_reminder_days) == (
        "Bol24", [2, 5], [])
    page = console.get(schedules).get_data(as_text=True)
    assert 'value="3, 6"' in page and '<option value="provider" selected>' in page
    assert {"merchant.update_senders", "merchant.update_reminders",
            "collections.configure"} <= _actions(session, staff)


def test_webhook_secret_is_shown_once_and_rotation_keeps_the_previous_one(
        console: FlaskClient, session: Session, merchant: Merchant, staff: Staff) -> None:
    path = f"{_base(merchant)}/webhooks"
    refused = _post(console, path, {"url": "ftp://hooks.example"})
    assert refused.status_code == 422 and 'id="url-error"' in refused.get_data(as_text=True)
    made = _post(console, path, {"url": "https://hooks.example/portal"})
    secret = re.search(r"whsec_[A-Za-z0-9+/=]+", made.get_data(as_text=True))
    assert made.status_code == 200 and secret
    assert secret.group(0) not in console.get(path).get_data(as_text=True)
    rotated = _post(console, f"{path}/rotate", {"overlap_hours": "12"})
    new = re.search(r"whsec_[A-Za-z0-9+/=]+", rotated.get_data(as_text=True))
    assert rotated.status_code == 200 and new and new.group(0) != secret.group(0)
    stored = _reloaded(session, merchant)
    assert stored.webhook_previous_secret is not None
    assert stored.webhook_previous_secret_expires_at is not None
    assert _post(console, f"{path}/rotate", {"overlap_hours": "999"}).status_code == 422
    assert {"webhook.configure", "webhook.rotate_secret"} <= _actions(session, staff)


def test_the_delivery_log_escapes_answers_and_replays_and_recovers(
        console: FlaskClient, session: Session, merchant: Merchant, staff: Staff) -> None:
    configure_endpoint(session, merchant, "https://hooks.example/portal")
    event = emit_event(session, merchant_id=merchant.id, type="mandate.active",
                       subject="md_x", data={})
    session.flush()
    delivery = session.scalar(select(WebhookDelivery))
    session.add(WebhookAttempt(delivery_id=delivery.id, attempted_at=utcnow(), http_status=502,
                               latency_ms=321, response_excerpt="<script>alert(1)</script>"))
    session.commit()
    path = f"{_base(merchant)}/webhooks"
    page = console.get(path).get_data(as_text=True)
    assert "321 ms" in page and "502" in page and event.public_id in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    token = csrf_token(console.get(path))
    replayed = console.post(
        f"/console/merchants/{merchant.public_id}/events/{event.public_id}/replay",
        data={"csrf_token": token, "back": path})
    assert replayed.status_code == 303 and replayed.headers["Location"] == path
    delivery.status = delivery.status.SUCCEEDED
    session.commit()
    now = utcnow()
    recovered = console.post(f"{path}/recover", data={
        "csrf_token": token, "start": (now - timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M"),
        "end": (now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")})
    assert recovered.status_code == 303
    assert "queued for delivery again" in console.get(path).get_data(as_text=True)
    bad = console.post(f"{path}/recover", data={"csrf_token": token, "start": "yesterday",
                                                 "end": "2026-13-01T00:00"})
    assert bad.status_code == 422
    assert {"webhook.replay", "webhook.recover_window"} <= {
        *session.scalars(select(AuditEvent.action).where(AuditEvent.actor.like("staff:%")))}


def test_api_client_secret_is_shown_once_and_revoking_ends_it(
        console: FlaskClient, session: Session, merchant: Merchant) -> None:
    path = f"{_base(merchant)}/api-clients"
    refused = _post(console, path, {"name": "ERP"})
    assert refused.status_code == 422 and 'id="scopes-error"' in refused.get_data(as_text=True)
    made = _post(console, path, {"name": "ERP", "scopes": ["mandates:read", "events:read"]})
    secret = re.search(r"sec_[A-Za-z0-9_\-]+", made.get_data(as_text=True))
    assert made.status_code == 200 and secret
    client = session.scalar(select(ApiClient).where(ApiClient.merchant_id == merchant.id))
    assert client.scopes == "mandates:read events:read"
    assert secret.group(0) not in console.get(path).get_data(as_text=True)
    other = make_merchant(session)
    from portal.api.clients import create_client

    foreign = create_client(session, other, "Theirs", "mandates:read").client
    session.commit()
    token = csrf_token(console.get(path))
    assert console.post(f"{path}/{foreign.client_id}/revoke",
                        data={"csrf_token": token}).status_code == 404
    assert console.post(f"{path}/{client.client_id}/revoke",
                        data={"csrf_token": token}).status_code == 303
    session.expire_all()
    assert session.get(ApiClient, client.id).revoked_at is not None
    assert session.get(ApiClient, foreign.id).revoked_at is None


def test_every_settings_form_needs_its_csrf_token(console: FlaskClient,
                                                  merchant: Merchant) -> None:
    for tail in ("/branding", "/branding/preview/sign", "/embedding", "/senders", "/schedules",
                 "/webhooks", "/webhooks/rotate", "/webhooks/recover", "/api-clients"):
        response = console.post(_base(merchant) + tail, data={"frame_origins": "x"})
        assert response.status_code in (400, 422), tail


def test_a_disabled_endpoint_is_enabled_again_with_its_secret(
        console: FlaskClient, session: Session, merchant: Merchant, staff: Staff) -> None:
    from portal.webhooks.service import disable_endpoint

    configure_endpoint(session, merchant, "https://hooks.example/portal")
    disable_endpoint(session, merchant, reason="test")
    session.commit()
    secret = _reloaded(session, merchant).webhook_secret
    path = f"{_base(merchant)}/webhooks"
    assert 'id="enable-endpoint"' in console.get(path).get_data(as_text=True)
    assert _post(console, f"{path}/enable", {}).status_code == 303
    stored = _reloaded(session, merchant)
    assert stored.webhook_disabled_at is None and stored.webhook_secret == secret
    assert "webhook.enable" in _actions(session, staff)


def test_an_upload_over_the_request_limit_gets_an_error_page(console: FlaskClient,
                                                            merchant: Merchant) -> None:
    response = _post(console, f"{_base(merchant)}/branding", {
        "display_name": "X", "primary_colour": "#1f4b99", "locale": "nl",
        "logo": (io.BytesIO(b"\x89PNG" + b"\x00" * (3 * 1024 * 1024)), "big.png")},
        content_type="multipart/form-data")
    assert response.status_code == 413 and response.mimetype == "text/html"
