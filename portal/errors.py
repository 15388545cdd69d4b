"""Error responses: branded HTML pages, or RFC 9457 ``application/problem+json`` under ``/api``."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, json, render_template, request
from flask.globals import request_ctx
from werkzeug.exceptions import HTTPException, InternalServerError, SecurityError

log = logging.getLogger(__name__)

PROBLEM_BASE = "https://mandate-portal.dev/problems/"


class Problem(HTTPException):
    """An error with a machine-readable type and optional field errors, raised by views."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type: str | None = None,
        errors: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(description=detail or title)
        self.code = status
        self.title = title
        self.detail = detail
        self.problem_type = type
        self.errors = errors or []
        self.extra_headers = headers or {}


def wants_problem_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/api"


def problem_response(
    status: int, title: str, detail: str | None = None, *, type: str | None = None,
    errors: list[dict[str, str]] | None = None, headers: dict[str, str] | None = None,
) -> Response:
    body: dict[str, Any] = {
        "type": f"{PROBLEM_BASE}{type}" if type else "about:blank",
        "title": title,
        "status": status,
        "instance": request.path,
    }
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    response = Response(json.dumps(body), status=status, mimetype="application/problem+json")
    response.headers.update(headers or {})
    return response


def _handle_http(exc: HTTPException) -> Response:
    if isinstance(exc, SecurityError):  # werkzeug's text repeats the untrusted Host header
        exc = SecurityError("This portal does not answer to the host name in the request.")
    status = exc.code or 500
    title = getattr(exc, "title", None) or exc.name
    if wants_problem_json():
        if isinstance(exc, Problem):
            return problem_response(status, exc.title, exc.detail, type=exc.problem_type,
                                    errors=exc.errors, headers=exc.extra_headers)
        response = problem_response(status, title, exc.description)
    else:
        if request_ctx.url_adapter is None:  # a Host not trusted: links for the public address
            public = urlsplit(current_app.config["PUBLIC_BASE_URL"])
            request_ctx.url_adapter = current_app.url_map.bind(
                public.netloc, script_name=public.path or "/", url_scheme=public.scheme)
        response = Response(
            render_template("errors/error.html", status=status, title=title,
                            detail=exc.description),
            status=status, mimetype="text/html",
        )
        response.headers.update(getattr(exc, "extra_headers", {}) or {})
    original = dict(exc.get_headers())
    for name in ("Allow", "Retry-After", "WWW-Authenticate"):
        if name in original:
            response.headers[name] = original[name]
    return response


def _handle_unexpected(exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.path)
    return _handle_http(InternalServerError())


def init_app(app: Flask) -> None:
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(Exception, _handle_unexpected)
