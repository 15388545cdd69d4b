"""Roles, table-driven: every console route tried with every role, on its own merchant and on
another merchant, and with no session. Support reads and may resend and replay but changes no
setting; a merchant admin never sees another merchant (its ids answer 404, like ids that do not
exist); a platform admin sees every merchant."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.console.models import StaffRole
from portal.console.roles import Stage, access_of
from portal.events.service import emit_event
from portal.mandates.models import Invitation
from portal.merchants.models import Merchant
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
    event = emit_event(session, merchant_id=merchant.id, type="mandate.invited",
                       subject=invitation.mandate.public_id, data={"mandate": "x"})
    session.flush()
    return merchant, Side(merchant.public_id, invitation.mandate.public_id,
                          invitation.public_id, event.public_id)


@pytest.fixture
def world(session: Session) -> World:
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
#: ``{m}``, ``{md}``, ``{inv}``, ``{evt}``: the merchant's, mandate's, invitation's and event's
#: ids of the side tried. Routes without them are the same for both sides.
ROUTES = [
    ("console.search", "GET", "/console/", None, "read"),
    ("console.search", "GET", "/console/?q={md}", None, "read"),
    ("console.merchants", "GET", "/console/merchants", None, "read"),
    ("console.merchant_home", "GET", "/console/merchants/{m}/", None, "read"),
    ("console.mandate_detail", "GET", "/console/mandates/{md}", None, "read"),
    ("console.mandate_pdf_download", "GET", "/console/mandates/{md}/pdf", None, "read"),
    ("console.resend_invitation", "POST", "/console/invitations/{inv}/resend", {},
     "resend_invitation"),
    ("console.replay_webhook", "POST", "/console/merchants/{m}/events/{evt}/replay", {},
     "replay_webhook"),
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
]
PERMISSIONS = {
    SUPPORT: {"read", "resend_invitation", "replay_webhook", "own_account"},
    ADMIN: {"read", "resend_invitation", "replay_webhook", "own_account", "settings", "staff",
            "batches"},
    PLATFORM: {"read", "resend_invitation", "replay_webhook", "own_account", "settings", "staff",
               "batches"},
}
#: What an allowed request answers (on its own merchant).
ALLOWED = {"GET": 200, "POST": 303}
#: The PDF route answers 404 even when allowed: these mandates have no PDF yet (the PDF
#: itself is proven in test_mandates.py, and a foreign one below).
NOT_FOUND_WHEN_ALLOWED = {"console.mandate_pdf_download", "console.batch_detail",
                          "console.batch_errors_csv", "console.batch_import"}


def _path(template: str, side: Side) -> str:
    return template.format(m=side.merchant, md=side.mandate, inv=side.invitation, evt=side.event)


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
                       and any(key in template for key in ("{m}", "{md}", "{inv}", "{evt}")))
            if permission not in PERMISSIONS[role]:
                want = 403
            elif foreign or name in NOT_FOUND_WHEN_ALLOWED:
                want = 404
            elif data == "invite" and side_name == "other" and role != PLATFORM:
                want = 422  # the form offers only its own merchants, and the service refuses
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
