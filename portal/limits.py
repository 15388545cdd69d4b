"""Rate limits (Flask-Limiter): in memory for one process, Redis when several share the limits.

Every limited request costs one round trip to the storage (the counter's increment). The
``X-RateLimit-*`` headers would cost two more on every request, so only a refusal says when to
come back (``Retry-After``), read from the storage then."""

from __future__ import annotations

import time
from collections.abc import Callable

from flask import Flask, Response, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(get_remote_address, headers_enabled=False)


def configured(name: str) -> Callable[[], str]:
    """A limit read from config at request time (``RATELIMIT_<NAME>``)."""
    return lambda: current_app.config[f"RATELIMIT_{name}"]


def _retry_after(response: Response) -> Response:
    if response.status_code == 429 and "Retry-After" not in response.headers:
        breached = limiter.current_limit
        if breached is not None:
            response.headers["Retry-After"] = str(max(1, breached.reset_at - int(time.time())))
    return response


def init_app(app: Flask) -> None:
    limiter.init_app(app)
    app.after_request(_retry_after)
