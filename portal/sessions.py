"""Flask's signed-cookie sessions, with the signing serializer made once per key set.

Flask builds the serializer (and derives its keys) again on every request, even when the
request carries no session cookie at all, and works out every cookie attribute before it sees
there is nothing to write; on the signing page's hot path that is a measurable share of the
request. Same cookies, same keys, same rotation (``SECRET_KEY_FALLBACKS``)."""

from __future__ import annotations

from flask import Flask, Response
from flask.sessions import SecureCookieSessionInterface, SessionMixin
from itsdangerous import URLSafeTimedSerializer


class CachedSigningSessionInterface(SecureCookieSessionInterface):
    def __init__(self) -> None:
        self._serializers: dict[tuple[object, ...], URLSafeTimedSerializer] = {}

    def get_signing_serializer(self, app: Flask) -> URLSafeTimedSerializer | None:
        if not app.secret_key:
            return None
        fallbacks = tuple(app.config.get("SECRET_KEY_FALLBACKS") or ())
        key = (app.secret_key, fallbacks)
        serializer = self._serializers.get(key)
        if serializer is None:
            serializer = super().get_signing_serializer(app)
            if serializer is not None:
                self._serializers = {key: serializer}  # the keys changed: drop the old one
        return serializer

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        """An empty, unmodified session (every visit without a language choice) writes no
        cookie: only say that the answer depends on the cookie, if it was read."""
        if not session and not session.modified:
            if session.accessed:
                response.vary.add("Cookie")
            return
        super().save_session(app, session, response)
