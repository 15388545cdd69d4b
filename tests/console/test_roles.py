"""Roles, table-driven: every console route tried with every role, on its own merchant and on
another merchant, and with no session. Support reads and may resend and replay but changes no
setting; a merchant admin never sees another merchant (its ids answer 404, like ids that do not
exist); a platform admin sees every merchant."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.api.clients import create_client
from portal.audit.models import AuditEvent
from portal.clock import utcnow
from portal.console.models import StaffRole
from portal.console.roles import Stage, access_of
from portal.events.service import emit_event
from portal.mandates.models import Invitation
from portal.mandates.service import set_debtor_account
from portal.merchants.models import Merchant
from portal.payments.service import (
    CustomerDetails,
    PaymentSettings,
    RequestSpec,
    create_payment_request,
)
from portal.webhooks.service import configure_endpoint
from tests.console.conftest import Staff, log_in, make_staff
from tests.factories import make_invitation, make_merchant
from tests.sign.driver import csrf_token

SUPPORT, ADMIN, PLATFORM = "support", "merchant_admin", "platform_admin"
ROLES = (SUPPORT, ADMIN, PLATFORM)


@dataclass
class Side:
    """One merchant's objects, as ids in URLs."""

    merchant: str
    mandate: str
    invitation: str
    event: str
    api_client: str
    request: str


@dataclass
class World:
    own: Side
    other: Side
    staff: dict[str, Staff]
    merchant_ids: dict[str, int]


def _side(session: Session, legal_name: str, creditor_id: str) -> tuple[Merchant, Side]:
    merchant = make_merchant(session, legal_name=legal_name, creditor_id=creditor_id)
    configure_endpoint(session, merchant, "https://hooks.example/portal")
    invitation: Invitation = make_invitation(session, merchant)
    set_debtor_account(session, invitation.mandate, "NL91ABNA0417164300", None)
    event = emit_event(session, merchant_id=merchant.id, type="mandate.invited",
                       subject=invitation.mandate.public_id, data={"mandate": "x"})
    client = create_client(session, merchant, "ERP", "mandates:read").client
    preq = create_payment_request(session, merchant, RequestSpec(
        amount_cents=1250, description="Lunch", customer=CustomerDetails(name="Sam de Vries"),
        expires_at=utcnow() + timedelta(days=7)), actor="test", now=utcnow(),
        settings=PaymentSettings())
    session.flush()
    return merchant, Side(merchant.public_id, invitation.mandate.public_id,
                          invitation.public_id, event.public_id, client.client_id,
                          preq.public_id)


def build_world(session: Session) -> World:
    """Two merchants with a mandate, invitation and event each, and staff of every role."""
    own_merchant, own = _side(session, "Bakkerij A B.V.", "NL69ZZZ123456780000")
    other_merchant, other = _side(session, "Slagerij B B.V.", "DE98ZZZ09999999999")
    session.commit()
    staff = {
        SUPPORT: make_staff(session, "support@a.example", role=StaffRole.SUPPORT,
                            merchants=[own_merchant]),
        ADMIN: make_staff(session, "admin@a.example", role=StaffRole.MERCHANT_ADMIN,
                          merchants=[own_merchant]),
        PLATFORM: make_staff(session, "platform@example.org", role=StaffRole.PLATFORM_ADMIN),
        # Staff of the other merchant only, who must stay out of A's staff list.
        "other": make_staff(session, "support@b.example", role=StaffRole.SUPPORT,
                            merchants=[other_merchant]),
    }
    return World(own, other, staff, {"own": own_merchant.id, "other": other_merchant.id})


def _invite_form(side: Side) -> dict:
    return {"email": "new@a.example", "role": "support", "merchants": [side.merchant]}


NO_BATCH = "upl_NoSuchBatchAtAll0000"
UPLOAD = (b"reference,scheme,signature_date,iban,debtor_name\r\n"
          b"OLD-1,CORE,2024-05-17,NL91ABNA0417164300,Sam\r\n")
#: (name, method, path, form data or None, permission the role table gives it).
#: ``{m}``, ``{md}``, ``{inv}``, ``{evt}``, ``{preq}``: the merchant's, mandate's, invitation's,
#: event's and payment request's ids of the side tried. Routes without them are the same for
#: both sides.
ROUTES = [
    ("console.search", "GET", "/console/", None, "read"),
    ("console.search", "GET", "/console/?q={md}", None, "read"),
    ("console.merchants", "GET", "/console/merchants", None, "read"),
    ("console.merchant_home", "GET", "/console/merchants/{m}/", None, "read"),
    ("console.mandate_detail", "GET", "/console/mandates/{md}", None, "read"),
    ("console.mandate_pdf_download", "GET", "/console/mandates/{md}/pdf", None, "read"),
    ("console.mandate_pdf_inline", "GET", "/console/mandates/{md}/pdf/inline", None, "read"),
    ("console.mandate_pain012", "GET", "/console/mandates/{md}/pain012", None, "read"),
    ("console.reveal_mandate_iban", "POST", "/console/mandates/{md}/iban",
     {"reason": "the customer disputes a debit"}, "read"),
    ("console.search", "GET", "/console/?q=sam&status=invited&merchant={m}", None, "read"),
    ("console.resend_invitation", "POST", "/console/invitations/{inv}/resend", {},
     "resend_invitation"),
    ("console.replay_webhook", "POST", "/console/merchants/{m}/events/{evt}/replay", {},
     "replay_webhook"),
    ("console.resend_payment_request_view", "POST",
     "/console/merchants/{m}/payment-requests/{preq}/resend", {}, "resend_payment_request"),
    ("console.merchant_settings", "GET", "/console/merchants/{m}/settings", None, "settings"),
    ("console.merchant_settings", "POST", "/console/merchants/{m}/settings",
     {"contact_email": "ops@a.example", "reply_to_email": ""}, "settings"),
    ("console.staff_list", "GET", "/console/staff", None, "staff"),
    ("console.staff_list", "POST", "/console/staff", "invite", "staff"),
    ("console.password", "GET", "/console/password", None, "own_account"),
    ("console.bookkeeping", "GET", "/console/merchants/{m}/bookkeeping?month=2026-11", None,
     "read"),
    ("console.bookkeeping_csv", "GET", "/console/merchants/{m}/bookkeeping/2026-11/invoices.csv",
     None, "read"),
    # Merchant settings (t16-settings).
    ("console.settings_branding", "GET", "/console/merchants/{m}/settings/branding", None,
     "settings"),
    ("console.settings_branding", "POST", "/console/merchants/{m}/settings/branding",
     {"display_name": "Bakkerij A", "primary_colour": "#1f4b99", "locale": "nl"}, "settings"),
    ("console.settings_preview", "GET", "/console/merchants/{m}/settings/branding/preview/sign",
     None, "settings"),
    ("console.settings_preview", "POST",
     "/console/merchants/{m}/settings/branding/preview/email",
     {"display_name": "Bakkerij A", "primary_colour": "#1f4b99", "locale": "nl"}, "settings"),
    ("console.settings_embedding", "GET", "/console/merchants/{m}/settings/embedding", None,
     "settings"),
    ("console.settings_embedding", "POST", "/console/merchants/{m}/settings/embedding",
     {"frame_origins": "https://shop.example"}, "settings"),
    ("console.settings_senders", "GET", "/console/merchants/{m}/settings/senders", None,
     "settings"),
    ("console.settings_senders", "POST", "/console/merchants/{m}/settings/senders",
     {"mail_from_name": "Bakkerij A", "reply_to_email": "", "sms_sender_id": "BakkerijA"},
     "settings"),
    ("console.settings_schedules", "GET", "/console/merchants/{m}/settings/schedules", None,
     "settings"),
    ("console.settings_schedules", "POST", "/console/merchants/{m}/settings/schedules",
     {"reminder_days": "3, 7", "payment_reminder_days": "default", "retry_delays": "5, 10",
      "route": "bank"}, "settings"),
    ("console.settings_webhooks", "GET", "/console/merchants/{m}/settings/webhooks", None,
     "settings"),
    ("console.settings_webhook_url", "POST", "/console/merchants/{m}/settings/webhooks",
     {"url": "https://hooks.example/portal"}, "settings"),
    ("console.settings_webhook_rotate", "POST",
     "/console/merchants/{m}/settings/webhooks/rotate", {"overlap_hours": "24"}, "settings"),
    ("console.settings_webhook_enable", "POST",
     "/console/merchants/{m}/settings/webhooks/enable", {}, "settings"),
    ("console.settings_webhook_recover", "POST",
     "/console/merchants/{m}/settings/webhooks/recover",
     {"start": "2020-01-01T00:00", "end": "2020-01-02T00:00"}, "settings"),
    ("console.settings_api_clients", "GET", "/console/merchants/{m}/settings/api-clients", None,
     "settings"),
    ("console.settings_api_clients", "POST", "/console/merchants/{m}/settings/api-clients",
     {"name": "ERP", "scopes": ["mandates:read"]}, "settings"),
    ("console.settings_api_client_revoke", "POST",
     "/console/merchants/{m}/settings/api-clients/{cli}/revoke", {}, "settings"),
    # Work from the dashboard (work_views.py) and counter mode (counter_views.py).
    ("console.work", "GET", "/console/merchants/{m}/work", None, "work"),
    ("console.new_invitation", "GET", "/console/merchants/{m}/invitations/new", None, "work"),
    ("console.new_invitation", "POST", "/console/merchants/{m}/invitations/new",
     {"customer_name": "Jan Jansen", "send_via": "none"}, "work"),
    ("console.invitation_detail", "GET", "/console/merchants/{m}/invitations/{inv}", None,
     "read"),
    ("console.new_payment_request", "GET", "/console/merchants/{m}/payment-requests/new", None,
     "work"),
    ("console.new_payment_request", "POST", "/console/merchants/{m}/payment-requests/new",
     {"amount": "12.50", "description": "Lunch", "customer_name": "Jan Jansen"}, "work"),
    ("console.payment_request_detail", "GET", "/console/merchants/{m}/payment-requests/{preq}",
     None, "read"),
    ("console.mandate_work", "GET", "/console/merchants/{m}/mandates/{md}/work", None, "work"),
    ("console.new_debit", "POST", "/console/merchants/{m}/mandates/{md}/debits",
     {"amount": "5", "description": "March"}, "work"),
    ("console.revoke_mandate_view", "POST", "/console/merchants/{m}/mandates/{md}/revoke", {},
     "work"),
    ("console.amend_mandate_view", "POST", "/console/merchants/{m}/mandates/{md}/amendment", {},
     "work"),
    ("console.new_invoice", "GET", "/console/merchants/{m}/invoices/new", None, "work"),
    ("console.new_invoice", "POST", "/console/merchants/{m}/invoices/new",
     {"customer_name": "Jan Jansen", "description": "Coaching", "amount": "121"}, "work"),
    ("console.new_subscription", "GET", "/console/merchants/{m}/subscriptions/new", None,
     "work"),
    ("console.new_subscription", "POST", "/console/merchants/{m}/subscriptions/new",
     {"plan": "plan_none", "customer_name": "Jan Jansen"}, "work"),
    ("console.counter", "GET", "/console/merchants/{m}/counter", None, "work"),
    ("console.counter_invitation", "POST", "/console/merchants/{m}/counter/invitations",
     {"customer_name": "Jan Jansen"}, "work"),
    ("console.counter_payment_request", "POST", "/console/merchants/{m}/counter/payment-requests",
     {"amount": "3.20", "description": "Coffee", "customer_name": "Jan Jansen"}, "work"),
    ("console.counter_screen", "GET", "/console/merchants/{m}/counter/{inv}", None, "read"),
    ("console.counter_screen", "GET", "/console/merchants/{m}/counter/{preq}", None, "read"),
    ("console.counter_status", "GET", "/console/merchants/{m}/counter/{preq}/status", None,
     "read"),
    # CSV batches (batch_views.py).
    ("console.batches", "GET", "/console/merchants/{m}/batches", None, "read"),
    ("console.batch_upload", "POST", "/console/merchants/{m}/batches", "upload", "batches"),
    ("console.batch_template", "GET", "/console/merchants/{m}/batches/templates/mandates.csv",
     None, "read"),
    # No batch of that id: 404 whoever asks (batches themselves: tests/console/test_batches.py).
    ("console.batch_detail", "GET", f"/console/merchants/{{m}}/batches/{NO_BATCH}", None, "read"),
    ("console.batch_errors_csv", "GET", f"/console/merchants/{{m}}/batches/{NO_BATCH}/errors.csv",
     None, "read"),
    ("console.batch_import", "POST", f"/console/merchants/{{m}}/batches/{NO_BATCH}/import", {},
     "batches"),
    # Withdrawals last: the pages above still show what they withdraw.
    ("console.withdraw_invitation_view", "POST",
     "/console/merchants/{m}/invitations/{inv}/withdraw", {}, "work"),
    ("console.withdraw_payment_request_view", "POST",
     "/console/merchants/{m}/payment-requests/{preq}/withdraw", {}, "work"),
]
PERMISSIONS = {
    SUPPORT: {"read", "resend_invitation", "resend_payment_request", "replay_webhook",
              "own_account"},
    ADMIN: {"read", "resend_invitation", "resend_payment_request", "replay_webhook",
            "own_account", "settings", "staff", "work", "batches"},
    PLATFORM: {"read", "resend_invitation", "resend_payment_request", "replay_webhook",
               "own_account", "settings", "staff", "work", "batches"},
}
#: What an allowed request answers (on its own merchant).
ALLOWED = {"GET": 200, "POST": 303}
#: The PDF and pain.012 routes answer 404 even when allowed: these mandates have no PDF yet and
#: were not signed at a bank (both are proven in test_mandates.py and test_mandate_page.py).
#: No batch of that id exists either.
NOT_FOUND_WHEN_ALLOWED = {"console.mandate_pdf_download", "console.mandate_pdf_inline",
                          "console.mandate_pain012", "console.batch_detail",
                          "console.batch_errors_csv", "console.batch_import"}
#: POSTs that answer with a page instead of a redirect: a preview, a secret shown only in the
#: answer that made it, or the IBAN revealed for a reason.
PAGE_WHEN_ALLOWED = {"console.settings_preview", "console.settings_webhook_url",
                     "console.settings_webhook_rotate", "console.settings_api_clients",
                     "console.reveal_mandate_iban"}
#: Work on these sides' mandates (invited, not active) is refused for what they are, when
#: allowed: no debit (422), no revocation or amendment (409); the plan named is no plan (422);
#: their payment request's customer has no email to send it again to (409). The work itself is
#: proven in test_work.py and test_resend.py.
REFUSED_WHEN_ALLOWED = {"console.new_debit": 422, "console.revoke_mandate_view": 409,
                        "console.amend_mandate_view": 409, ("console.new_subscription", "POST"): 422,
                        "console.resend_payment_request_view": 409}


def _path(template: str, side: Side) -> str:
    return template.format(m=side.merchant, md=side.mandate, inv=side.invitation, evt=side.event,
                           cli=side.api_client, preq=side.request)


def _client(app: Flask, staff: Staff) -> FlaskClient:
    client = app.test_client()
    assert log_in(client, staff.email, staff.password, staff=staff).status_code == 303
    return client


def _request(client: FlaskClient, method: str, path: str, data, side: Side):
    if method == "GET":
        return client.get(path)
    if data == "upload":  # a dry run of a one-row file
        form = {"kind": "mandates", "file": (io.BytesIO(UPLOAD), "mandates.csv")}
    else:
        form = _invite_form(side) if data == "invite" else dict(data)
    form["csrf_token"] = csrf_token(client.get("/console/password"))
    return client.post(path, data=form)


@pytest.mark.parametrize("role", ROLES)
def test_every_route_with_every_role(app: Flask, world: World, role: str,
                                     session: Session) -> None:
    client = _client(app, world.staff[role])
    failures = []
    for name, method, template, data, permission in ROUTES:
        for side_name in ("own", "other"):
            side = getattr(world, side_name)
            foreign = (side_name == "other" and role != PLATFORM and "?q=" not in template
                       and any(key in template
                               for key in ("{m}", "{md}", "{inv}", "{evt}", "{cli}",
                                           "{preq}")))
            # A search's merchant filter outside the scope finds nothing (200), like any query.
            if permission not in PERMISSIONS[role]:
                want = 403
            elif foreign or name in NOT_FOUND_WHEN_ALLOWED:
                want = 404
            elif data == "invite" and side_name == "other" and role != PLATFORM:
                want = 422  # the form offers only its own merchants, and the service refuses
            elif name in PAGE_WHEN_ALLOWED:
                want = 200
            elif name in REFUSED_WHEN_ALLOWED or (name, method) in REFUSED_WHEN_ALLOWED:
                want = REFUSED_WHEN_ALLOWED.get(name) or REFUSED_WHEN_ALLOWED[(name, method)]
            else:
                want = ALLOWED[method]
            response = _request(client, method, _path(template, side), data, side)
            if response.status_code != want:
                failures.append((method, template, side_name, response.status_code, want))
    assert failures == []


@pytest.mark.parametrize("role", ROLES)
def test_search_finds_only_the_merchants_of_the_role(app: Flask, world: World,
                                                     role: str) -> None:
    client = _client(app, world.staff[role])
    page = client.get("/console/", query_string={"q": "sam@example.org"}).get_data(as_text=True)
    assert world.own.mandate in page
    assert (world.other.mandate in page) is (role == PLATFORM)


def test_a_merchant_admin_sees_only_its_own_staff(app: Flask, world: World) -> None:
    page = _client(app, world.staff[ADMIN]).get("/console/staff").get_data(as_text=True)
    assert "support@a.example" in page and "admin@a.example" in page
    assert "support@b.example" not in page and "platform@example.org" not in page
    everyone = _client(app, world.staff[PLATFORM]).get("/console/staff").get_data(as_text=True)
    assert "support@b.example" in everyone and "platform@example.org" in everyone


def test_a_merchant_admin_cannot_invite_for_another_merchant_or_a_platform_admin(
        app: Flask, world: World, session: Session) -> None:
    client = _client(app, world.staff[ADMIN])
    token = csrf_token(client.get("/console/staff"))
    for form in ({"email": "x@a.example", "role": "support", "merchants": [world.other.merchant]},
                 {"email": "x@a.example", "role": "platform_admin"}):
        response = client.post("/console/staff", data={**form, "csrf_token": token})
        assert response.status_code == 422, form
    assert session.scalars(select(AuditEvent).where(
        AuditEvent.action == "console.staff_invite")).all() == []


def test_no_session_reaches_nothing_but_the_public_pages(app: Flask, world: World) -> None:
    client = app.test_client()
    token = csrf_token(client.get("/console/login"))  # a POST's CSRF token is not what stops it
    for _name, method, template, _data, _permission in ROUTES:
        path = _path(template, world.own)
        response = (client.get(path) if method == "GET"
                    else client.post(path, data={"csrf_token": token}))
        assert response.status_code == 302, (method, template)
        assert response.headers["Location"].startswith("/console/login?next=")


def test_a_login_waiting_for_its_code_reaches_nothing_else(app: Flask, world: World) -> None:
    from tests.console.conftest import log_in_password

    client = app.test_client()
    staff = world.staff[PLATFORM]
    log_in_password(client, staff.email, staff.password)
    token = csrf_token(client.get("/console/second-factor"))
    for _name, method, template, _data, _permission in ROUTES:
        path = _path(template, world.own)
        response = (client.get(path) if method == "GET"
                    else client.post(path, data={"csrf_token": token}))
        assert response.status_code == 302, (method, template)
        assert response.headers["Location"] == "/console/second-factor"


def test_every_console_view_declares_who_may_open_it(app: Flask) -> None:
    """A new page is closed until it declares its access; every non-public one is in ROUTES."""
    declared = {}
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("console."):
            access = access_of(app.view_functions[rule.endpoint])
            assert access is not None, rule.endpoint
            declared[rule.endpoint] = access
    signed_in = {name for name, access in declared.items() if access.stage is Stage.SIGNED_IN}
    assert signed_in == {route[0] for route in ROUTES}
    for name, _method, _template, _data, permission in ROUTES:
        assert declared[name].permission.value == permission, name
    public = {name for name, access in declared.items() if access.stage is Stage.PUBLIC}
    assert public == {"console.login", "console.accept", "console.oidc_login",
                      "console.oidc_callback"}
    second_factor = {name for name, access in declared.items()
                     if access.stage is Stage.SECOND_FACTOR}
    assert second_factor == {"console.second_factor", "console.logout"}


def test_support_changes_no_setting(app: Flask, world: World, session: Session) -> None:
    client = _client(app, world.staff[SUPPORT])
    token = csrf_token(client.get("/console/password"))
    response = client.post(f"/console/merchants/{world.own.merchant}/settings",
                           data={"csrf_token": token, "contact_email": "evil@example.org"})
    assert response.status_code == 403
    session.expire_all()
    assert session.get(Merchant, world.merchant_ids["own"]).contact_email != "evil@example.org"


def test_each_action_is_audited_with_the_staff_member(app: Flask, world: World,
                                                      session: Session) -> None:
    staff = world.staff[ADMIN]
    client = _client(app, staff)
    token = csrf_token(client.get("/console/password"))
    client.post(f"/console/invitations/{world.own.invitation}/resend",
                data={"csrf_token": token})
    client.post(f"/console/merchants/{world.own.merchant}/events/{world.own.event}/replay",
                data={"csrf_token": token})
    client.post(f"/console/merchants/{world.own.merchant}/settings",
                data={"csrf_token": token, "contact_email": "ops@a.example"})
    client.post("/console/staff", data={"csrf_token": token, **_invite_form(world.own)})
    client.get(f"/console/merchants/{world.own.merchant}/")
    session.expire_all()
    actor = f"staff:{staff.user.public_id}"
    actions = set(session.scalars(select(AuditEvent.action).where(AuditEvent.actor == actor)))
    assert {"invitation.resend", "console.replay_webhook", "merchant.update_contact",
            "console.staff_invite", "console.view_dashboard"} <= actions
