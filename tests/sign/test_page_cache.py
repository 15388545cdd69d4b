"""The rendered-page cache: canonical keys only, bounded in entries and bytes, and pages that
repeat no query value they did not validate (issue 17: 2,200 GETs grew a worker by 600 MB)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Flask
from sqlalchemy.orm import Session

from portal.mandates.links import make_invitation_token
from portal.sign.page_cache import PageCache, page_key
from tests.factories import make_invitation, make_merchant

SHOP = "https://shop.example"


def _link(app: Flask, session: Session) -> str:
    merchant = make_merchant(session, frame_origins=(SHOP,))
    invitation = make_invitation(session, merchant)
    session.commit()
    token = make_invitation_token(invitation.public_id, invitation.expires_at,
                                  app.config["SECRET_KEY"])
    return f"/sign/{token}"


def test_unique_query_values_neither_multiply_nor_grow_the_cached_pages(
        app: Flask, client, session: Session) -> None:
    path = _link(app, session)
    assert client.get(path + "?lang=en").status_code == 200  # first open: recorded, cached
    pages: PageCache = app.extensions["sign_pages"]
    for number in range(40):
        junk = f"{number}" + "x" * 60_000
        for query in ({"lang": "en", "return_to": junk},  # not embedded: ignored
                      {"lang": "en", "embed": "1", "origin": f"https://evil{number}.example",
                       "return_to": f"https://evil{number}.example/{junk}"},  # unlisted
                      {"lang": "en", "embed": "1", "origin": SHOP,
                       "return_to": f"{SHOP}/{junk}"},  # listed origin, absurd return URL
                      {"lang": "en", "utm_source": junk}):
            response = client.get(f"{path}?{urlencode(query)}")
            assert response.status_code == 200
            assert junk not in response.get_data(as_text=True)
    # One plain page and one embedded page without a return URL, nothing else.
    assert len(pages) == 2 and pages.size_bytes < 200_000


def test_language_links_keep_only_a_validated_embedding(
        app: Flask, client, session: Session) -> None:
    path = _link(app, session)
    sent = {"embed": "1", "origin": SHOP, "return_to": f"{SHOP}/account", "utm_source": "mail",
            "lang": "en"}
    text = client.get(f"{path}?{urlencode(sent)}").get_data(as_text=True)
    expected = urlencode({"embed": "1", "origin": SHOP, "return_to": f"{SHOP}/account",
                          "lang": "nl"}).replace("&", "&amp;")
    assert f'href="{path}?{expected}"' in text
    assert "utm_source" not in text

    plain = client.get(f"{path}?utm_source=mail&lang=en").get_data(as_text=True)
    assert f'href="{path}?lang=nl"' in plain and "utm_source" not in plain


def test_the_cache_is_bounded_in_bytes_as_well_as_entries() -> None:
    cache = PageCache(max_entries=100, max_bytes=10_000)
    for number in range(50):
        cache.put(page_key("t", number, "en", None), (b"x" * 1000, None))
    assert len(cache) == 10 and cache.size_bytes == 10_000
    assert cache.get(page_key("t", 49, "en", None)) is not None  # the newest stay
    assert cache.get(page_key("t", 0, "en", None)) is None
    cache.put(page_key("t", 99, "en", None), (b"x" * 5000, None))  # over an eighth: not kept
    assert cache.get(page_key("t", 99, "en", None)) is None and cache.size_bytes == 10_000

    by_count = PageCache(max_entries=3, max_bytes=10**9)
    for number in range(5):
        by_count.put(number, (b"page", None))
    assert len(by_count) == 3 and by_count.size_bytes == 12


def test_the_merchant_turning_on_the_verification_refund_shows_on_a_cached_page(
        journey) -> None:
    assert b'id="refund-notice"' not in journey.open().data
    merchant = journey.invitation.merchant
    merchant.refund_verification = True  # as `merchant payments --refund-verification` does
    journey.session.commit()
    assert b'id="refund-notice"' in journey.open().data
    merchant.refund_verification = False
    journey.session.commit()
    assert b'id="refund-notice"' not in journey.open().data
