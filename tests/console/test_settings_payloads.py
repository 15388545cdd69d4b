"""The issue's acceptance for the settings: the shared corpus of SQL injection and XSS payloads
goes through every settings field (and the live preview); nothing changes but the field a
payload was accepted into, no page fails, and every echo is escaped."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, inspect, select
from sqlalchemy.orm import Session

from portal.api.models import ApiClient
from portal.collections.routes import CollectionPolicy
from portal.console.models import StaffUser
from portal.mandates.models import Customer, Mandate
from portal.merchants.models import Merchant
from portal.merchants.service import MerchantInputError
from portal.merchants.settings_service import (
    parse_frame_origins,
    update_branding,
    update_frame_origins,
    update_schedules,
    update_senders,
    validate_branding,
)
from portal.webhooks.service import configure_endpoint
from tests.console.payloads import PAYLOADS, SQL_INJECTION, UNESCAPED_MARKERS, XSS
from tests.factories import make_invitation, make_merchant
from tests.sign.driver import csrf_token

#: Payloads in a valid value's tail, where a field takes free text after a valid start.
URL_TAIL = "https://hooks.example/in?q="
NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

BRANDING = {"display_name": "Bakkerij A", "primary_colour": "#1f4b99", "locale": "nl"}
#: (path under the merchant's settings, the form's valid values, fields to try, tail prefix).
FORMS = [
    ("", {"contact_email": "ops@a.example", "reply_to_email": ""},
     ("contact_email", "reply_to_email"), {}),
    ("/branding", BRANDING, ("display_name", "primary_colour", "locale"), {}),
    ("/branding/preview/sign", BRANDING, ("display_name", "primary_colour", "locale"), {}),
    ("/branding/preview/checkout", BRANDING, ("display_name",), {}),
    ("/branding/preview/email", BRANDING, ("display_name", "primary_colour"), {}),
    ("/embedding", {"frame_origins": "https://shop.example"}, ("frame_origins",), {}),
    ("/senders", {"mail_from_name": "Bol", "reply_to_email": "", "sms_sender_id": "Bol"},
     ("mail_from_name", "reply_to_email", "sms_sender_id"), {}),
    ("/schedules", {"reminder_days": "3", "payment_reminder_days": "default",
                    "retry_delays": "5, 10", "route": "bank"},
     ("reminder_days", "payment_reminder_days", "retry_delays", "route"), {}),
    ("/webhooks", {"url": "https://hooks.example/in"}, ("url",), {"url": URL_TAIL}),
    ("/webhooks/rotate", {"overlap_hours": "1"}, ("overlap_hours",), {}),
    ("/webhooks/recover", {"start": "2026-11-01T00:00", "end": "2026-11-02T00:00"},
     ("start", "end"), {}),
    ("/api-clients", {"name": "ERP", "scopes": ["mandates:read"]}, ("name", "scopes"), {}),
]


def _assert_escaped(html: str, where: str) -> None:
    for marker in UNESCAPED_MARKERS:
        assert marker not in html, (where, marker)


def _snapshot(session: Session, merchant: Merchant) -> dict:
    session.expire_all()
    row = session.get(Merchant, merchant.id)
    return {c.key: getattr(row, c.key) for c in inspect(Merchant).column_attrs}


def _counts(session: Session) -> tuple[int, ...]:
    return tuple(session.scalar(select(func.count()).select_from(model))
                 for model in (Merchant, Mandate, Customer, StaffUser))


# Both databases: a payload PostgreSQL cannot store (NUL) must be refused, not fail there.
def test_every_settings_field_takes_the_corpus_without_harm(
        console: FlaskClient, session: Session) -> None:
    own = make_merchant(session, legal_name="Bakkerij A B.V.")
    other = make_merchant(session, legal_name="Slagerij B B.V.")
    make_invitation(session, other)
    configure_endpoint(session, own, "https://hooks.example/in")
    session.commit()
    others_before, counts_before = _snapshot(session, other), _counts(session)
    own_identity = {k: v for k, v in _snapshot(session, own).items()
                    if k in ("legal_name", "creditor_id", "address_line", "public_id")}
    base = f"/console/merchants/{own.public_id}/settings"
    token = csrf_token(console.get("/console/password"))
    failures = []
    for path, valid, fields, tails in FORMS:
        for field in fields:
            for payload in PAYLOADS:
                value = tails.get(field, "") + payload
                data = {**valid, field: [value] if field == "scopes" else value,
                        "csrf_token": token}
                response = console.post(base + path, data=data)
                if response.status_code not in (200, 303, 422):
                    failures.append((path, field, payload, response.status_code))
                    continue
                if response.mimetype == "text/html":
                    _assert_escaped(response.get_data(as_text=True), f"{path} {field}")
                if response.status_code == 303:  # accepted: its page shows it, escaped
                    page = console.get(response.headers["Location"]).get_data(as_text=True)
                    _assert_escaped(page, f"{path} {field} saved")
    for payload in (XSS[0], SQL_INJECTION[3]):  # a PDF takes a second: two, not the corpus
        response = console.post(base + "/branding/preview/pdf", data={
            **BRANDING, "display_name": payload, "csrf_token": token})
        if response.status_code != 200 or not response.data.startswith(b"%PDF-"):
            failures.append(("/branding/preview/pdf", payload, response.status_code))
    assert failures == []
    # What branding was accepted last shows escaped in every saved preview and the mail.
    console.post(base + "/branding", data={**BRANDING, "csrf_token": token,
                                           "display_name": "<script>alert(1)</script>"})
    for kind in ("sign", "checkout", "email"):
        html = console.get(f"{base}/branding/preview/{kind}").get_data(as_text=True)
        _assert_escaped(html, kind)
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html, kind
    assert _snapshot(session, other) == others_before
    assert _counts(session) == counts_before
    own_after = _snapshot(session, own)
    assert {k: own_after[k] for k in own_identity} == own_identity
    assert session.scalar(select(func.count()).select_from(ApiClient).where(
        ApiClient.merchant_id == other.id)) == 0


def test_the_services_store_payloads_as_text_or_refuse_them(session: Session) -> None:
    """On both databases: a payload is stored as the plain text it is where a field takes
    text, and refused (nothing changed) everywhere else; another merchant and the row counts
    never move."""
    own, other = make_merchant(session), make_merchant(session)
    session.commit()
    others_before, counts_before = _snapshot(session, other), _counts(session)
    for payload in PAYLOADS:
        try:  # a name may be any text without control characters: stored as that text
            update_branding(session, own, validate_branding(
                own, display_name=payload, primary_colour="#1f4b99", locale="nl"),
                actor="staff:x", now=NOW)
            session.commit()
            assert _snapshot(session, own)["display_name"] == payload.strip()
        except MerchantInputError as exc:
            session.rollback()
            assert set(exc.errors) == {"display_name"}
        refused_whole = [
            lambda p=payload: update_branding(session, own, validate_branding(
                own, display_name="A", primary_colour=p, locale=p, logo_upload=p.encode()),
                actor="staff:x", now=NOW),
            lambda p=payload: update_frame_origins(session, own, parse_frame_origins(p),
                                                   actor="staff:x", now=NOW),
            lambda p=payload: update_senders(session, own, mail_from_name="\x00",
                                             reply_to_email=p, sms_sender_id=p,
                                             actor="staff:x", now=NOW),
            lambda p=payload: update_schedules(session, own, reminder_days=p,
                                               payment_reminder_days=p, retry_delays=p,
                                               route=p, policy=CollectionPolicy(),
                                               actor="staff:x", now=NOW),
        ]
        for attempt in refused_whole:
            before = _snapshot(session, own)
            with pytest.raises(MerchantInputError):
                attempt()
            session.rollback()
            assert _snapshot(session, own) == before, payload
    assert _snapshot(session, other) == others_before
    assert _counts(session) == counts_before
