"""Security headers on every kind of page."""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.sign.driver import Journey


def _assert_strict(response, *, form_action: str = "'self'") -> None:
    csp = response.headers["Content-Security-Policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp
    assert "frame-ancestors 'none'" in csp and f"form-action {form_action}" in csp
    assert "object-src 'none'" in csp and "base-uri 'none'" in csp
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "camera=()" in response.headers["Permissions-Policy"]
    assert response.headers["X-Request-ID"]


def test_public_signing_page(journey: Journey) -> None:
    page = journey.open()
    _assert_strict(page, form_action="'self' https:")
    assert page.headers["Cache-Control"] == "no-store"
    assert "Strict-Transport-Security" not in page.headers  # plain http in tests


def test_error_page_and_health(client: FlaskClient) -> None:
    _assert_strict(client.get("/nothing"))
    _assert_strict(client.get("/healthz"))


def test_api_problem_responses(client: FlaskClient) -> None:
    _assert_strict(client.get("/api/v1/nothing"))


def test_sandbox_and_static(journey: Journey) -> None:
    started = journey.submit()
    _assert_strict(journey.client.get(started.headers["Location"].replace("http://localhost", "")))
    _assert_strict(journey.client.get("/static/portal.css"))


def test_hsts_and_secure_cookies_over_https(app: Flask) -> None:
    app.config["PUBLIC_BASE_URL"] = "https://portal.example"
    response = app.test_client().get("/healthz", base_url="https://portal.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_flags(journey: Journey) -> None:
    cookie = journey.client.get(journey.path + "?lang=nl").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_request_id_is_echoed_when_sane(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Request-ID": "abc123def456"}).headers[
        "X-Request-ID"] == "abc123def456"
    generated = client.get("/healthz", headers={"X-Request-ID": "<script>"}).headers[
        "X-Request-ID"]
    assert generated != "<script>" and len(generated) == 16


@pytest.mark.parametrize("path", ["/sign/x/qr.png", "/brand/mer_x/brand.css"])
def test_non_html_responses_also_get_headers(client: FlaskClient, path: str) -> None:
    _assert_strict(client.get(path))


def test_behind_a_trusted_proxy_the_client_address_and_scheme_come_from_it(
        database_url, tmp_path) -> None:
    from portal import create_app
    from tests.conftest import app_settings

    app = create_app({**app_settings(database_url, tmp_path), "TRUSTED_PROXIES": 1})

    @app.get("/whoami")
    def whoami():
        from flask import request
        return {"ip": request.remote_addr, "secure": request.is_secure}

    headers = {"X-Forwarded-For": "203.0.113.7", "X-Forwarded-Proto": "https"}
    assert app.test_client().get("/whoami", headers=headers).get_json() == {
        "ip": "203.0.113.7", "secure": True}
    plain = create_app(app_settings(database_url, tmp_path / "other"))
    plain.add_url_rule("/whoami", view_func=whoami)
    assert plain.test_client().get("/whoami", headers=headers).get_json()["ip"] == "127.0.0.1"


def test_a_header_the_view_set_itself_is_kept(app: Flask) -> None:
    """The security headers are made once per combination, but a view's own value still wins
    over the default, header by header."""
    @app.get("/own-headers")
    def own_headers():
        return "x", 200, {"Referrer-Policy": "same-origin", "Cache-Control": "private"}

    response = app.test_client().get("/own-headers")
    assert response.headers.getlist("Referrer-Policy") == ["same-origin"]
    assert response.headers.getlist("Cache-Control") == ["private"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"


def test_framing_allowed_for_one_response_is_not_carried_to_the_next(app: Flask) -> None:
    """One response may be framed by a merchant's origin; the next, made from the same cached
    headers, refuses framing again."""
    from flask import g

    @app.get("/framed")
    def framed():
        g.frame_ancestors = "https://shop.example"
        return "<p>framed</p>"

    client = app.test_client()
    for _ in range(2):
        framed_page = client.get("/framed")
        assert "frame-ancestors https://shop.example" in framed_page.headers[
            "Content-Security-Policy"]
        assert "X-Frame-Options" not in framed_page.headers
        _assert_strict(client.get("/nothing"))


def test_empty_session_sends_no_cookie_but_says_it_depends_on_one(journey: Journey) -> None:
    page = journey.open()
    assert "Set-Cookie" not in page.headers
    assert "Cookie" in page.headers.get("Vary", "")
    chosen = journey.client.get(journey.path + "?lang=de")
    assert "session=" in chosen.headers["Set-Cookie"]
    assert "Set-Cookie" not in journey.client.get(journey.path + "?lang=de").headers
