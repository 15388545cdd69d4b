"""Rate limits (Flask-Limiter): in memory for one process, Redis when several share the limits."""

from __future__ import annotations

from collections.abc import Callable

from flask import Flask, current_app
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address

limiter = Limiter(get_remote_address, headers_enabled=True)


def configured(name: str) -> Callable[[], str]:
    """A limit read from config at request time (``RATELIMIT_<NAME>``)."""
    return lambda: current_app.config[f"RATELIMIT_{name}"]


def init_app(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    limiter.init_app(app)
