"""``POST /oauth/token`` (client credentials) and ``POST /oauth/revoke`` (RFC 7009)."""

from __future__ import annotations

from authlib.oauth2 import OAuth2Error
from flask import Response

from portal.api.auth import (
    authorization_server,
    oauth_problem,
    unreadable_basic_credentials,
)
from portal.api.blueprint import bp
from portal.limits import configured, limiter


def _oauth_endpoint(handle) -> Response:
    if unreadable_basic_credentials():
        return oauth_problem(401, "invalid_client", None)
    try:
        return handle()
    except OAuth2Error as error:  # e.g. insecure_transport, raised while reading the request
        return oauth_problem(error.status_code, error.error, error.get_error_description())


@bp.post("/oauth/token")
@limiter.limit(configured("TOKEN"))
def issue_token() -> Response:
    return _oauth_endpoint(authorization_server().create_token_response)


@bp.post("/oauth/revoke")
@limiter.limit(configured("REVOKE"))
def revoke_token() -> Response:
    return _oauth_endpoint(lambda: authorization_server().create_endpoint_response("revocation"))
