"""Error pages for people, RFC 9457 problems for the API, and the health check."""

from __future__ import annotations

from flask import Flask
from flask.testing import FlaskClient

from portal.errors import Problem


def test_unknown_page_gets_a_branded_html_404(client: FlaskClient) -> None:
    response = client.get("/no/such/page")
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    assert b"Not Found" in response.data and b"portal.css" in response.data


def test_unknown_api_path_gets_problem_json(client: FlaskClient) -> None:
    response = client.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert response.mimetype == "application/problem+json"
    body = response.get_json()
    assert body["status"] == 404 and body["title"] == "Not Found"
    assert body["type"] == "about:blank" and body["instance"] == "/api/v1/nothing-here"


def test_wrong_method_keeps_the_allow_header(client: FlaskClient) -> None:
    response = client.post("/healthz")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]


def test_problem_with_field_errors(app: Flask) -> None:
    @app.get("/api/v1/boom")
    def boom():
        raise Problem(422, "Invalid request", "iban is wrong", type="validation-error",
                      errors=[{"field": "iban", "message": "wrong check digits"}])

    body = app.test_client().get("/api/v1/boom").get_json()
    assert body["type"].endswith("/validation-error")
    assert body["errors"] == [{"field": "iban", "message": "wrong check digits"}]


def test_unexpected_error_gives_a_clean_500_without_details(app: Flask) -> None:
    app.config["PROPAGATE_EXCEPTIONS"] = False

    @app.get("/explode")
    def explode():
        raise RuntimeError("secret internals")

    response = app.test_client().get("/explode")
    assert response.status_code == 500 and b"secret internals" not in response.data


def test_healthz_checks_the_database(client: FlaskClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok",
                                                                     "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path) -> None:
    from portal import create_app

    app = create_app({"TESTING": True,
                      "DATABASE_URL": f"sqlite:///{tmp_path}/missing/dir/db.sqlite3",
                      "SECRET_KEY": "x", "DATA_KEY": "y", "INSTANCE_PATH": str(tmp_path)})
    response = app.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"
