"""Short links: unguessable codes, counted opens, refusals with their invitation, and never a
redirect anywhere but the portal's own signing page."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from portal import create_app
from portal.db import state
from portal.events.models import Event
from portal.mandates.links import Links
from portal.mandates.models import Invitation, MandateStatus
from portal.shortlinks.models import ShortLink
from portal.shortlinks.service import ALPHABET, ENTROPY_BITS, LENGTH, new_code, short_link_of
from tests.conftest import app_settings
from tests.factories import make_invitation
from tests.mail.conftest import Clock


@pytest.fixture
def invitation(session: Session) -> Invitation:
    invitation = make_invitation(session)
    session.commit()
    return invitation


def _code(session: Session, invitation: Invitation) -> str:
    return short_link_of(session, invitation).code


def test_codes_are_long_random_base62_with_at_least_47_bits() -> None:
    assert LENGTH >= 8 and len(set(ALPHABET)) == 62 and ALPHABET.isalnum()
    assert ENTROPY_BITS == LENGTH * math.log2(62) >= 47
    codes = [new_code() for _ in range(5000)]
    assert all(len(c) == LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert len(set(codes)) == len(codes)
    counts = Counter("".join(codes))  # 50 000 characters: every symbol, none favoured
    assert set(counts) == set(ALPHABET)
    assert max(counts.values()) < 2 * min(counts.values())


def test_every_invitation_gets_one_short_link(session: Session, invitation: Invitation) -> None:
    [link] = session.scalars(select(ShortLink).where(
        ShortLink.invitation_id == invitation.id)).all()
    assert len(link.code) == LENGTH and link.open_count == 0 and link.last_opened_at is None


def test_following_redirects_to_the_signing_page_and_counts_each_open(
        app: Flask, client: FlaskClient, session: Session, invitation: Invitation,
        clock: Clock) -> None:
    code = _code(session, invitation)
    first = client.get(f"/s/{code}")
    assert first.status_code == 303
    assert first.headers["Location"] == Links.from_config(app.config).invitation_url(
        invitation.public_id, invitation.expires_at)
    assert first.headers["Cache-Control"] == "no-store"
    assert client.get(urlsplit(first.headers["Location"]).path).status_code == 200
    clock.advance(minutes=5)
    assert client.get(f"/s/{code}").status_code == 303

    session.expire_all()
    link = short_link_of(session, invitation)
    assert link.open_count == 2 and link.last_opened_at == clock.now
    opened = session.scalars(select(Event).where(Event.type == "invitation.opened",
                                                 Event.subject == invitation.public_id)).all()
    assert len(opened) == 1  # the first open only, by the short link or the page


@pytest.mark.parametrize("path", ["/s/AAAAAAAAAA", "/s/short", "/s/Ab3dE6gH9k-x",
                                  "/s/%F0%9F%98%80", "/s/"])
def test_unknown_or_malformed_codes_get_the_branded_404(client: FlaskClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404 and response.mimetype == "text/html"
    assert "Location" not in response.headers
    assert b"portal.css" in response.data


def test_slashes_smuggled_into_a_code_stay_on_the_portal(client: FlaskClient) -> None:
    response = client.get("/s/%2F%2Fevil.example")  # Werkzeug merges the slashes first
    assert response.status_code == 308
    assert urlsplit(response.headers["Location"]).path == "/s/evil.example"
    assert urlsplit(response.headers["Location"]).netloc in ("", "localhost")
    assert client.get("/s/%2F%2Fevil.example", follow_redirects=True).status_code == 404


def test_an_expired_invitation_answers_410(app: Flask, client: FlaskClient, session: Session,
                                           invitation: Invitation) -> None:
    app.config["CLOCK"] = lambda: invitation.expires_at + timedelta(seconds=1)
    response = client.get(f"/s/{_code(session, invitation)}")
    assert response.status_code == 410 and "Location" not in response.headers
    assert b'data-reason="expired"' in response.data
    assert invitation.merchant.display_name.encode() in response.data
    session.expire_all()
    assert session.get(Invitation, invitation.id).opened_at is None


@pytest.mark.parametrize(("change", "reason"), [
    ("withdrawn", "withdrawn"), ("cancelled", "closed"), ("expired", "expired")])
def test_withdrawn_or_closed_invitations_answer_410(
        client: FlaskClient, session: Session, invitation: Invitation, change: str,
        reason: str) -> None:
    if change == "withdrawn":
        invitation.withdrawn_at = invitation.created_at
    invitation.mandate.status = (MandateStatus.EXPIRED if change == "expired" else
                                 MandateStatus.CANCELLED)
    session.commit()
    response = client.get(f"/s/{_code(session, invitation)}")
    assert response.status_code == 410
    assert f'data-reason="{reason}"'.encode() in response.data


def test_the_api_gives_the_short_url(app: Flask, session: Session) -> None:
    from tests.api.conftest import make_caller

    api = make_caller(app, session).authorize()
    body = api.post("/api/v1/invitations", {"customer": {"name": "Sam"}}).get_json()
    invitation = session.scalar(select(Invitation).where(Invitation.public_id == body["id"]))
    assert body["short_url"] == f"http://localhost/s/{_code(session, invitation)}"
    assert api.get(f"/api/v1/invitations/{body['id']}").get_json()["short_url"] == \
        body["short_url"]


def _mutations(code: str) -> st.SearchStrategy[str]:
    """Anything: random text, the real code with junk around it, path tricks."""
    tricks = st.sampled_from(["//evil.example", "/../../sign", "@evil.example", "%0d%0a",
                              "https://evil.example/", "\\\\evil", "?next=//evil.example"])
    return st.one_of(st.text(max_size=40), st.text(alphabet=ALPHABET, min_size=1, max_size=14),
                     st.builds(lambda a, b: a + code + b, st.text(max_size=8),
                               st.text(max_size=8)),
                     st.builds(lambda t: code + t, tricks), tricks)


@settings(max_examples=200, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_no_code_ever_redirects_off_the_portal_or_errors(
        data: st.DataObject, client: FlaskClient, session: Session,
        invitation: Invitation) -> None:
    code = data.draw(_mutations(_code(session, invitation)))
    response = client.get("/s/" + quote(code, safe=""))
    assert response.status_code in (303, 404, 405, 308), (code, response.status_code)
    location = response.headers.get("Location")
    if location is not None:
        target = urlsplit(location)
        assert target.netloc in ("", "localhost") and target.scheme in ("", "http"), location
        # a 303 goes to the signing page; Werkzeug's own 308s only tidy up our path
        assert target.path.startswith("/sign/" if response.status_code == 303 else "/s/")


@pytest.fixture
def limited(database_url: str, tmp_path: Path) -> Iterator[Flask]:
    app = create_app({**app_settings(database_url, tmp_path / "instance"),
                      "RATELIMIT_ENABLED": True, "RATELIMIT_SHORTLINK": "3 per minute"})
    yield app
    state(app).dispose()


def test_following_short_links_is_rate_limited(limited: Flask) -> None:
    client = limited.test_client()
    statuses = [client.get(f"/s/{new_code()}").status_code for _ in range(4)]
    assert statuses == [404, 404, 404, 429]
