"""Repeat visits answered before Flask dispatches them (portal.sign.fast_page): the same bytes and
headers as the view's own cached path, and every refusal still the view's."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest
from flask import Flask
from sqlalchemy.orm import Session

from portal.clock import utcnow
from tests.factories import make_invitation, make_merchant
from tests.sign.driver import Journey

SHOP = "https://shop.example"
#: A parameter the fast path leaves to the view, which ignores it: the view's cached answer.
TO_THE_VIEW = "utm_source=mail"


@pytest.fixture
def shop_journey(app: Flask, client, session: Session) -> Journey:
    merchant = make_merchant(session, frame_origins=(SHOP,))
    invitation = make_invitation(session, merchant)
    session.commit()
    return Journey(app, client, session, invitation)


def _without_request_id(headers) -> list[tuple[str, str]]:
    return [(name, value) for name, value in headers if name != "X-Request-ID"]


#: What the view answers once replaced by :func:`_bypass_the_view`.
DISPATCHED = 418


def _bypass_the_view(app: Flask, monkeypatch) -> None:
    """From now on the view answers 418: any other answer was given before dispatch."""
    monkeypatch.setitem(app.view_functions, "sign.sign", lambda **_: ("dispatched", DISPATCHED))


@pytest.mark.parametrize(("query", "environ"), [
    ({}, {}),
    ({}, {"HTTP_ACCEPT_LANGUAGE": "nl-NL,nl;q=0.9"}),
    ({"embed": "1", "origin": SHOP, "return_to": f"{SHOP}/account"}, {}),
    ({}, {"wsgi.url_scheme": "https"}),  # HSTS
    ({}, {"HTTP_X_REQUEST_ID": "proxy-request-0001"}),
])
def test_the_fast_answer_is_the_views_cached_answer(shop_journey: Journey, monkeypatch,
                                                    query, environ) -> None:
    journey = shop_journey
    sent = f"{journey.path}?{urlencode(query)}" if query else journey.path
    journey.client.get(sent, environ_base=environ)  # first open: recorded, rendered, cached
    separator = "&" if query else "?"
    viewed = journey.client.get(f"{sent}{separator}{TO_THE_VIEW}", environ_base=environ)
    _bypass_the_view(journey.app, monkeypatch)
    fast = journey.client.get(sent, environ_base=environ)
    assert fast.status_code == viewed.status_code == 200
    assert fast.data == viewed.data
    assert _without_request_id(fast.headers) == _without_request_id(viewed.headers)
    if "HTTP_X_REQUEST_ID" in environ:  # the proxy's id, kept
        assert fast.headers["X-Request-ID"] == viewed.headers["X-Request-ID"] == "proxy-request-0001"
    else:  # a new one each
        assert fast.headers["X-Request-ID"] != viewed.headers["X-Request-ID"]


def test_a_first_open_is_the_views(journey: Journey, monkeypatch) -> None:
    _bypass_the_view(journey.app, monkeypatch)
    assert journey.open().status_code == DISPATCHED


def test_a_link_withdrawn_after_it_was_cached_is_refused(journey: Journey) -> None:
    assert journey.open().status_code == 200
    assert journey.open().status_code == 200  # from the cache
    journey.invitation.withdrawn_at = utcnow()
    journey.session.commit()
    refused = journey.open()
    assert refused.status_code == 410 and b"portal.css" in refused.data


def test_a_language_chosen_on_the_page_stays_chosen(journey: Journey) -> None:
    """``?lang=`` keeps the choice in the session: the cookie sends later visits to the view,
    which reads it."""
    assert b'lang="en"' in journey.open().data
    assert b'lang="nl"' in journey.open(query_string={"lang": "nl"}).data
    assert b'lang="nl"' in journey.open().data
    journey.client.delete_cookie("session")
    assert b'lang="en"' in journey.open().data


def test_an_untrusted_host_is_refused_even_when_cached(journey: Journey) -> None:
    journey.app.config["TRUSTED_HOSTS"] = ["localhost"]
    assert journey.open().status_code == 200
    assert journey.open().status_code == 200
    assert journey.open(headers={"Host": "evil.example"}).status_code == 400


def test_the_latency_of_fast_answers_is_measured(journey: Journey) -> None:
    from portal.metrics import REQUEST_SECONDS

    def answered() -> float:
        return REQUEST_SECONDS.labels("GET", "sign.sign", "200")._sum.get()

    journey.open()
    journey.open()
    before = answered()
    journey.open()
    assert answered() > before


def test_head_and_other_paths_are_left_to_the_app(journey: Journey, monkeypatch) -> None:
    journey.open()
    journey.open()
    _bypass_the_view(journey.app, monkeypatch)
    assert journey.client.head(journey.path).status_code == DISPATCHED
    assert journey.client.get(journey.path + "?lang=en").status_code == DISPATCHED
    assert journey.client.get(journey.path + "/").status_code == 404
    assert journey.open().status_code == 200


def test_an_error_before_dispatch_leaves_the_answer_to_the_app(journey: Journey,
                                                               monkeypatch) -> None:
    """The fast path never answers with an error of its own: the app reads again and answers
    (here, the read works the second time)."""
    from sqlalchemy.exc import OperationalError

    from portal.sign import fast_page

    journey.open()
    def broken(*_args):
        raise OperationalError("SELECT", {}, Exception("database is locked"))
    monkeypatch.setattr(fast_page, "open_link", broken)
    answer = journey.open()
    assert answer.status_code == 200 and b'name="csrf_token"' in answer.data
