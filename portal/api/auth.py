"""OAuth2 client credentials with Authlib: the token and revocation endpoints' server, and the
bearer-token check that gives each API request its merchant and scopes."""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import secrets
from collections.abc import Callable
from datetime import timedelta
from typing import Any, ClassVar, TypeVar

from authlib.integrations.flask_oauth2 import AuthorizationServer, ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import MissingAuthorizationError, grants
from authlib.oauth2.rfc6750 import (
    BearerTokenGenerator,
    BearerTokenValidator,
    InsufficientScopeError,
)
from authlib.oauth2.rfc7009 import RevocationEndpoint
from flask import Flask, Response, current_app, g, json, request
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.api.models import AUTH_METHODS, SCOPES, ApiClient, ApiToken
from portal.clock import now as clock_now
from portal.db import get_session
from portal.errors import PROBLEM_BASE, Problem
from portal.ids import looks_like

F = TypeVar("F", bound=Callable[..., Any])
REALM = "mandate-portal"
ACCESS_TOKEN_PREFIX = "mpat_"
#: The one answer to any failed client authentication: an unknown client id, a wrong secret and a
#: revoked client look the same, so the endpoint does not tell which client ids exist.
INVALID_CLIENT = "Client authentication failed: unknown client, wrong secret or revoked client."


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def _query_client(client_id: str | None) -> ApiClient | None:
    if not client_id or not looks_like(client_id, "cli"):
        return None
    return get_session().scalar(select(ApiClient).where(
        ApiClient.client_id == client_id, ApiClient.revoked_at.is_(None)))


def _save_token(token: dict[str, Any], oauth_request: Any) -> None:
    now = clock_now()
    session = get_session()
    session.add(ApiToken(
        token_sha256=token_digest(token["access_token"]), client_pk=oauth_request.client.id,
        scopes=token.get("scope", ""), created_at=now,
        expires_at=now + timedelta(seconds=int(token["expires_in"]))))
    session.commit()


def find_token(token_string: str) -> ApiToken | None:
    return get_session().scalar(
        select(ApiToken).options(joinedload(ApiToken.client))
        .where(ApiToken.token_sha256 == token_digest(token_string)))


class ClientCredentialsGrant(grants.ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)


class TokenRevocation(RevocationEndpoint):
    """RFC 7009: a client revokes one of its own access tokens."""

    CLIENT_AUTH_METHODS: ClassVar[list[str]] = list(AUTH_METHODS)
    SUPPORTED_TOKEN_TYPES = ("access_token",)

    def query_token(self, token_string: str, token_type_hint: str | None) -> ApiToken | None:
        return find_token(token_string)

    def revoke_token(self, token: ApiToken, oauth_request: Any) -> None:
        if token.revoked_at is None:
            token.revoked_at = clock_now()
        get_session().commit()


class PortalAuthorizationServer(AuthorizationServer):
    """Authlib's server with our token format and lifetime, and errors as problem+json."""

    def create_bearer_token_generator(self, config: Any) -> BearerTokenGenerator:
        lifetime = int(config["API_TOKEN_TTL_SECONDS"])
        return BearerTokenGenerator(
            lambda **_: ACCESS_TOKEN_PREFIX + secrets.token_urlsafe(32), None,
            lambda client, grant_type: lifetime)

    def handle_error_response(self, oauth_request: Any, error: OAuth2Error) -> Response:
        status, body, headers = error(self.get_error_uri(oauth_request, error))
        return oauth_problem(status, body["error"], body.get("error_description"), headers)


def oauth_problem(status: int, error: str, description: str | None,
                  headers: list[tuple[str, str]] | None = None) -> Response:
    """An RFC 6749 §5.2 error: ``application/json`` with ``error`` and ``error_description``,
    carrying the RFC 9457 fields too. Every ``invalid_client`` gets the same answer."""
    if error == "invalid_client":
        status, description = 401, INVALID_CLIENT
        headers = [("WWW-Authenticate", f'Basic realm="{REALM}"')]
    body = {"type": PROBLEM_BASE + error, "title": error.replace("_", " ").capitalize(),
            "status": status, "instance": request.path, "error": error}
    if description:
        body["detail"] = body["error_description"] = description
    response = Response(json.dumps(body), status=status, mimetype="application/json")
    for name, value in headers or ():
        if name.lower() != "content-type":
            response.headers[name] = value
    return response


def init_server(app: Flask) -> PortalAuthorizationServer:
    server = PortalAuthorizationServer()
    server.init_app(app, query_client=_query_client, save_token=_save_token)
    server.scopes_supported = list(SCOPES)
    server.register_grant(ClientCredentialsGrant)
    server.register_endpoint(TokenRevocation)
    app.extensions["api_oauth"] = server
    return server


def authorization_server() -> PortalAuthorizationServer:
    return current_app.extensions["api_oauth"]


def unreadable_basic_credentials() -> bool:
    """HTTP Basic credentials that are not base64 of UTF-8 (Authlib would fail on them)."""
    kind, _, credentials = request.headers.get("Authorization", "").partition(" ")
    if kind.lower() != "basic":
        return False
    try:
        base64.b64decode(credentials.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return True
    return False


class PortalBearerTokenValidator(BearerTokenValidator):
    """Looks the token up by its SHA-256; Authlib then checks expiry, revocation and scope."""

    def authenticate_token(self, token_string: str) -> ApiToken | None:
        return find_token(token_string)


class PortalResourceProtector(ResourceProtector):
    """Authlib's protector, answering with problem+json and a ``WWW-Authenticate`` challenge."""

    def raise_error_response(self, error: OAuth2Error) -> None:
        if isinstance(error, InsufficientScopeError):
            needed = " ".join(getattr(g, "api_required_scopes", ()))
            raise Problem(403, "Insufficient scope", f"This request needs the scope {needed}.",
                          type="insufficient_scope", headers={"WWW-Authenticate": (
                              f'Bearer realm="{REALM}", error="insufficient_scope", '
                              f'scope="{needed}"')})
        if isinstance(error, MissingAuthorizationError):
            raise Problem(401, "Unauthorized",
                          "Send an access token: Authorization: Bearer <token>.",
                          type="missing_token",
                          headers={"WWW-Authenticate": f'Bearer realm="{REALM}"'})
        raise Problem(401, "Unauthorized",
                      "The access token is malformed, unknown, expired or revoked.",
                      type="invalid_token", headers={
                          "WWW-Authenticate": f'Bearer realm="{REALM}", error="invalid_token"'})


protector = PortalResourceProtector()
protector.register_token_validator(PortalBearerTokenValidator(realm=REALM))


def require_scope(scope: str) -> Callable[[F], F]:
    """Protect a view: a valid token with ``scope``; its merchant scopes every query."""
    def decorator(view: F) -> F:
        @functools.wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            g.api_required_scopes = (scope,)
            try:
                token: ApiToken = protector.acquire_token([scope])
            except OAuth2Error as error:
                protector.raise_error_response(error)
            g.api_token = token
            g.api_merchant_id = token.client.merchant_id
            g.api_actor = f"merchant:{token.client.client_id}"
            return view(*args, **kwargs)
        return wrapped  # type: ignore[return-value]
    return decorator


def merchant_id() -> int:
    """The merchant of the authenticated request."""
    return g.api_merchant_id
