"""The merchant API under ``/api/v1``: OAuth2 client credentials, invitations, mandates, events,
idempotent POSTs, an OpenAPI 3.1 document and its docs page."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Token server, blueprint (exempt from CSRF: no cookies, bearer tokens) and CLI commands."""
    from portal import csrf
    from portal.api import cli, views  # noqa: F401  (views register their routes on bp)
    from portal.api.auth import init_server
    from portal.api.blueprint import bp

    init_server(app)
    app.register_blueprint(bp)
    csrf.exempt(bp)
    cli.init_app(app)
