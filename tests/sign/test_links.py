"""Links that cannot be used get their own page and status, and change nothing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from portal.audit.models import AuditEvent
from portal.events.models import Event
from portal.mandates.links import make_invitation_token
from portal.mandates.models import Invitation, MandateStatus
from tests.sign.driver import Journey, csrf_token


def _rows(session: Session) -> tuple[int, int]:
    session.expire_all()
    return (session.scalar(select(func.count()).select_from(AuditEvent)),
            session.scalar(select(func.count()).select_from(Event)))


def _assert_refused(journey: Journey, path: str, status: int, reason: str) -> None:
    before = _rows(journey.session)
    response = journey.client.get(path)
    assert response.status_code == status
    assert f'data-reason="{reason}"'.encode() in response.data
    posted = journey.client.post(path, data={"iban": "NL91ABNA0417164300"})
    assert posted.status_code in (status, 400)
    assert _rows(journey.session) == before


def _flip_inside_signature(token: str) -> str:
    """One character in the middle of the signature changed: always real signature bits."""
    at = len(token) - 12
    return token[:at] + ("A" if token[at] != "A" else "B") + token[at + 1:]


@pytest.mark.parametrize("mangle", [
    _flip_inside_signature,
    lambda t: t.split(".")[0],
    lambda t: "A" + t,
])
def test_tampered_link(journey: Journey, mangle) -> None:
    _assert_refused(journey, f"/sign/{mangle(journey.token)}", 400, "invalid")


def test_link_signed_with_another_key(journey: Journey) -> None:
    token = make_invitation_token(journey.invitation.public_id, journey.invitation.expires_at,
                                  "not-our-key")
    _assert_refused(journey, f"/sign/{token}", 400, "invalid")


def test_unknown_invitation(journey: Journey, app: Flask) -> None:
    token = make_invitation_token("inv_" + "a" * 22, datetime(2031, 1, 1, tzinfo=UTC),
                                  app.config["SECRET_KEY"])
    _assert_refused(journey, f"/sign/{token}", 404, "unknown")


def test_expired_link(journey: Journey, app: Flask) -> None:
    app.config["CLOCK"] = lambda: journey.invitation.expires_at + timedelta(seconds=1)
    _assert_refused(journey, journey.path, 410, "expired")
    assert journey.session.get(Invitation, journey.invitation.id).opened_at is None


def test_withdrawn_link(journey: Journey) -> None:
    journey.invitation.withdrawn_at = datetime.now(UTC)
    journey.session.commit()
    _assert_refused(journey, journey.path, 410, "withdrawn")


def test_link_of_a_cancelled_mandate(journey: Journey) -> None:
    journey.invitation.mandate.status = MandateStatus.CANCELLED
    journey.session.commit()
    _assert_refused(journey, journey.path, 410, "closed")


def test_used_link_shows_already_signed(journey: Journey) -> None:
    journey.follow(journey.pay("paid"))
    _assert_refused(journey, journey.path, 410, "signed")


def test_token_from_the_previous_key_still_works(journey: Journey, app: Flask) -> None:
    old = journey.token
    app.config["SECRET_KEY_FALLBACKS"] = [app.config["SECRET_KEY"]]
    app.config["SECRET_KEY"] = "rotated-secret"
    response = journey.client.get(f"/sign/{old}")
    assert response.status_code == 200
    assert journey.token != old  # new links use the new key


def test_first_open_is_an_event_later_opens_are_not(journey: Journey) -> None:
    journey.open()
    journey.open()
    journey.session.expire_all()
    opened = journey.session.scalars(select(Event.type).where(
        Event.subject == journey.invitation.public_id)).all()
    assert opened == ["invitation.opened"]


def test_form_without_csrf_token_is_refused(journey: Journey) -> None:
    response = journey.client.post(journey.path, data={
        "name": "Sam", "email": "sam@example.org", "iban": "NL91ABNA0417164300",
        "consent": "y"})
    assert response.status_code == 400
    assert journey.mandate().status == MandateStatus.INVITED


def test_qr_codes(journey: Journey, client: FlaskClient) -> None:
    png = client.get(f"{journey.path}/qr.png")
    big = client.get(f"{journey.path}/qr.png?size=print")
    svg = client.get(f"{journey.path}/qr.svg")
    assert png.mimetype == "image/png" and png.data.startswith(b"\x89PNG")
    assert len(big.data) > len(png.data)
    assert svg.mimetype == "image/svg+xml" and b"<path" in svg.data
    assert "public" in png.headers["Cache-Control"]
    assert client.get(f"{journey.path}/qr.gif").status_code == 404
    assert client.get("/sign/garbage/qr.png").status_code == 400


def test_qr_encodes_the_short_link(journey: Journey, client: FlaskClient) -> None:
    import io

    import qrcode
    from PIL import Image

    from portal.shortlinks.service import short_link_of

    link = short_link_of(journey.session, journey.invitation)
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8, border=4)
    code.add_data(f"http://localhost/s/{link.code}")
    code.make(fit=True)
    expected = code.make_image().get_image().convert("L").tobytes()
    served = Image.open(io.BytesIO(client.get(f"{journey.path}/qr.png").data)).convert("L")
    assert served.tobytes() == expected


def test_sandbox_checkout_of_unknown_payment_is_404(client: FlaskClient) -> None:
    assert client.get("/sandbox/checkout/tr_sbxdoesnotexist00").status_code == 404
    assert client.get("/sandbox/checkout/../../etc").status_code == 404


def test_settled_sandbox_payment_cannot_be_paid_twice(journey: Journey) -> None:
    journey.app.config["SANDBOX_AUTO_WEBHOOK"] = False
    redirect = journey.pay("failed")
    payment = journey.payments()[-1]
    page = journey.client.get(f"/sandbox/checkout/{payment.provider_payment_id}")
    assert page.status_code == 303 and page.headers["Location"] == redirect.headers["Location"]


def test_merchant_strings_are_escaped(session: Session, client: FlaskClient, app: Flask) -> None:
    from tests.factories import make_invitation, make_merchant

    merchant = make_merchant(session, display_name="<script>alert(1)</script>",
                             legal_name='Evil "B.V." <img src=x onerror=alert(1)>')
    invitation = make_invitation(session, merchant)
    session.commit()
    token = make_invitation_token(invitation.public_id, invitation.expires_at,
                                  app.config["SECRET_KEY"])
    html = client.get(f"/sign/{token}").get_data(as_text=True)
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert "<img src=x" not in html
    css = client.get(f"/brand/{merchant.public_id}/brand.css").get_data(as_text=True)
    assert css.strip() == ":root { --brand: #0b6e4f; }"


def test_csrf_token_is_required_on_sandbox_too(journey: Journey) -> None:
    started = journey.submit()
    checkout = started.headers["Location"].replace("http://localhost", "")
    assert journey.client.post(checkout, data={"outcome": "paid"}).status_code == 400
    page = journey.client.get(checkout)
    assert csrf_token(page)
